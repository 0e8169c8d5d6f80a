// Model lookup by name across the home's models folder and the shipped models.
#include "backends/model_locator.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace llive::backends {
namespace {

bool Exists(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

// The folder of the running executable, or empty when /proc does not say.
std::filesystem::path ExecutableDir() {
  std::error_code error;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::filesystem::path() : exe.parent_path();
}

}  // namespace

std::vector<std::string> ShippedModelDirs() {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("LLIVE_MODELS_PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      dirs.emplace_back(dir);
    }
  }
  if (std::filesystem::path exe_dir = ExecutableDir(); !exe_dir.empty()) {
    dirs.push_back((exe_dir.parent_path() / "share" / "llive" / "models").string());
  }
  dirs.push_back(LLIVE_BUILTIN_MODELS_DIR);
  return dirs;
}

absl::StatusOr<std::string> LocateModel(absl::string_view name_or_path,
                                        absl::Span<const std::string> dirs) {
  const std::string given(name_or_path);
  if (given.empty()) return absl::InvalidArgumentError("an empty model name");
  // A path is the loader's to check; only bare names are searched for.
  if (given.find('/') != std::string::npos || Exists(given)) return given;
  for (const std::string& dir : dirs) {
    std::filesystem::path candidate = std::filesystem::path(dir) / given;
    if (Exists(candidate)) return candidate.string();
  }
  return absl::NotFoundError(absl::StrCat("no model named ", given, " in the current folder or in ",
                                          absl::StrJoin(dirs, ", "),
                                          "; give a path, or put the model in one of these"));
}

}  // namespace llive::backends
