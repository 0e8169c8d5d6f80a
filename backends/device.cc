// Parsing and printing device names.
#include "backends/device.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace llive::backends {

std::string Device::ToString() const {
  return kind == Kind::kCpu ? "cpu" : absl::StrCat("cuda:", index);
}

absl::StatusOr<Device> ParseDevice(absl::string_view text) {
  if (text == "cpu") return Device{Device::Kind::kCpu, 0};
  if (text == "cuda") return Device{Device::Kind::kCuda, 0};
  constexpr absl::string_view kCudaPrefix = "cuda:";
  int index = -1;
  if (text.substr(0, kCudaPrefix.size()) == kCudaPrefix &&
      absl::SimpleAtoi(text.substr(kCudaPrefix.size()), &index) && index >= 0) {
    return Device{Device::Kind::kCuda, index};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown device \"", text, "\": use cpu, cuda or cuda:N (N >= 0)"));
}

}  // namespace llive::backends
