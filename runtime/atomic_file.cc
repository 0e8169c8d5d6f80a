// Crash-safe whole-file writes (write, fsync, rename, fsync folder).
#include "runtime/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace llive::runtime {
namespace {

absl::Status IoError(absl::string_view what, const std::string& path, int error) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(error)));
}

}  // namespace

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents) {
  std::filesystem::path target(path);
  std::filesystem::path folder = target.has_parent_path() ? target.parent_path() : ".";
  std::string temp = absl::StrCat(folder.string(), "/.", target.filename().string(), ".tmp-XXXXXX");
  int fd = mkstemp(temp.data());
  if (fd < 0) return IoError("cannot create a temporary file beside", path, errno);
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      close(fd);
      unlink(temp.c_str());
      return IoError("cannot write", temp, error);
    }
    written += static_cast<size_t>(n);
  }
  if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
    int error = errno;
    close(fd);
    unlink(temp.c_str());
    return IoError("cannot sync", temp, error);
  }
  close(fd);
  if (rename(temp.c_str(), path.c_str()) != 0) {
    int error = errno;
    unlink(temp.c_str());
    return IoError("cannot replace", path, error);
  }
  int dir_fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no such file: ", path));
    return IoError("cannot read", path, errno);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return IoError("cannot read", path, errno);
  return buffer.str();
}

}  // namespace llive::runtime
