// Fuzzes the llive.json parser and validator: any bytes give a Config or an error.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "runtime/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<llive::runtime::Config> config = llive::runtime::Config::Parse(text, "fuzz");
  if (config.ok()) {
    // A valid configuration survives a round trip through its own JSON.
    absl::StatusOr<llive::runtime::Config> again =
        llive::runtime::Config::Parse(config->json().dump(), "fuzz-again");
    if (!again.ok() || again->json() != config->json()) __builtin_trap();
  }
  return 0;
}
