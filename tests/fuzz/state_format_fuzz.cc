// Fuzzes the state blob reader: any bytes restore a state or give an error, never a crash,
// and a blob that restores serialises back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "backends/native/state_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace llive::backends;
  ModelInfo info;
  info.architecture = "mamba";
  info.fingerprint = "fuzz";
  std::vector<float> conv(4), ssm(6);
  StateView view;
  view.tensors.push_back({"layers.0.conv", 0, "conv", {2, 2}, conv.data()});
  view.tensors.push_back({"layers.0.ssm", 0, "ssm", {2, 3}, ssm.data()});
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<int64_t> position = native::DeserializeStateView(bytes, info, view);
  if (position.ok() && native::SerializeStateView(info, *position, view) != bytes) {
    __builtin_trap();
  }
  return 0;
}
