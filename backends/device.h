// Names of compute devices as users type them: "cpu", "cuda", "cuda:N".
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llive::backends {

struct Device {
  enum class Kind { kCpu, kCuda };
  Kind kind = Kind::kCpu;
  int index = 0;  // the CUDA ordinal; 0 for the CPU

  // "cpu" or "cuda:N".
  std::string ToString() const;
  bool operator==(const Device&) const = default;
};

// Parses "cpu", "cuda" (ordinal 0) or "cuda:N". Returns InvalidArgument naming the
// text and the accepted spellings otherwise.
absl::StatusOr<Device> ParseDevice(absl::string_view text);

}  // namespace llive::backends
