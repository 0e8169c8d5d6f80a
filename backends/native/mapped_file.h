// A whole file mapped read-only into memory, for checkpoints too large to copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace llive::backends::native {

// Immutable once opened; safe to share across threads. The mapping lives as long as the
// object.
class MappedFile {
 public:
  // NotFound when `path` does not exist, FailedPrecondition for a folder, Unavailable for
  // other I/O errors (each naming the path and the system's reason).
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }  // nullptr for an empty file
  size_t size() const { return size_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}

  std::string path_;
  const uint8_t* data_;
  size_t size_;
};

}  // namespace llive::backends::native
