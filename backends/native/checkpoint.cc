// Checkpoint::Open: picks the format from what is at the path.
#include "backends/native/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backends/native/gguf_checkpoint.h"
#include "backends/native/hugging_face_checkpoint.h"

namespace llive::backends::native {

absl::StatusOr<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& path) {
  std::error_code error;
  std::filesystem::file_status status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) {
    return absl::NotFoundError(absl::StrCat("no model at ", path,
                                            "; give a Hugging Face folder (config.json + "
                                            "*.safetensors) or a .gguf file"));
  }
  if (std::filesystem::is_directory(status) || absl::EndsWith(path, ".safetensors")) {
    return OpenHuggingFaceCheckpoint(path);
  }
  char magic[4] = {};
  std::ifstream(path, std::ios::binary).read(magic, sizeof(magic));
  if (std::memcmp(magic, "GGUF", 4) == 0 || absl::EndsWith(path, ".gguf")) {
    return OpenGgufCheckpoint(path);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path,
      " is neither a folder, a .safetensors file nor a GGUF file (its first bytes are not "
      "\"GGUF\"); give a Hugging Face folder or a .gguf file"));
}

}  // namespace llive::backends::native
