// Creating and opening home directories.
#include "runtime/home.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "memory/database.h"

namespace llive::runtime {
namespace {

namespace fs = std::filesystem;

std::string Resolve(const fs::path& root, const std::string& path) {
  fs::path p(path);
  return (p.is_absolute() ? p : root / p).lexically_normal().string();
}

absl::Status MakeFolder(const std::string& path) {
  std::error_code error;
  fs::create_directories(path, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create folder ", path, ": ", error.message()));
  }
  return absl::OkStatus();
}

Home Layout(const fs::path& root, Config config) {
  Home home{root.string(),
            (root / kConfigFileName).string(),
            Resolve(root, config.GetString("memory.database")),
            Resolve(root, config.GetString("memory.index_dir")),
            Resolve(root, config.GetString("models.dir")),
            std::move(config)};
  return home;
}

}  // namespace

absl::StatusOr<std::string> ResolveHomeDir(const std::optional<std::string>& flag) {
  if (flag.has_value() && !flag->empty()) return *flag;
  if (const char* env = std::getenv("LLIVE_HOME"); env != nullptr && *env != '\0') return env;
  if (const char* user_home = std::getenv("HOME"); user_home != nullptr && *user_home != '\0') {
    return (fs::path(user_home) / ".llive").string();
  }
  return absl::FailedPreconditionError(
      "no home directory: pass --home DIR, or set LLIVE_HOME or HOME");
}

absl::StatusOr<Home> InitHome(const std::string& dir) {
  std::error_code error;
  fs::path root = fs::absolute(dir, error).lexically_normal();
  if (error) return absl::InvalidArgumentError(absl::StrCat("bad home path ", dir));
  if (fs::exists(root) && !fs::is_directory(root)) {
    return absl::FailedPreconditionError(
        absl::StrCat(root.string(), " exists and is not a folder; choose another home"));
  }
  if (absl::Status s = MakeFolder(root.string()); !s.ok()) return s;
  fs::path config_file = root / kConfigFileName;
  if (!fs::exists(config_file)) {
    if (absl::Status s = Config::Defaults().Save(config_file.string()); !s.ok()) return s;
  }
  absl::StatusOr<Home> home = OpenHome(root.string());
  if (!home.ok()) return home.status();
  for (const std::string& folder : {home->index_dir, home->models_dir}) {
    if (absl::Status s = MakeFolder(folder); !s.ok()) return s;
  }
  if (absl::Status s = MakeFolder(fs::path(home->database_file).parent_path().string()); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<memory::Database>> db =
      memory::Database::Open(home->database_file);
  if (!db.ok()) return db.status();
  return home;
}

absl::StatusOr<Home> OpenHome(const std::string& dir) {
  std::error_code error;
  fs::path root = fs::absolute(dir, error).lexically_normal();
  if (error) return absl::InvalidArgumentError(absl::StrCat("bad home path ", dir));
  fs::path config_file = root / kConfigFileName;
  if (!fs::exists(config_file)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no llive home at ", root.string(), " (", kConfigFileName,
                     " is missing); run `llive init ", root.string(), "` first"));
  }
  absl::StatusOr<Config> config = Config::Load(config_file.string());
  if (!config.ok()) return config.status();
  return Layout(root, *std::move(config));
}

}  // namespace llive::runtime
