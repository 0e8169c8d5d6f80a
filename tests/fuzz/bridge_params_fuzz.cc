// Fuzzes the bridge parameter parser: any bytes give parameters or an error, and parameters
// that parse serialise back to the same bytes.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "bridge/bridge_params.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<llive::bridge::BridgeParams> params = llive::bridge::ParseBridgeParams(bytes);
  if (params.ok() && llive::bridge::SerializeBridgeParams(*params) != bytes) __builtin_trap();
  return 0;
}
