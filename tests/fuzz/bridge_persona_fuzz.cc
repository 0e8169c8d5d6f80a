// Fuzzes the persona target parser (bytes of a bridge_persona artifact): any bytes give a
// target or an error, and a target that parses survives a round trip unchanged.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "bridge/bridge_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<llive::bridge::ThoughtVector> target = llive::bridge::ParsePersona(bytes);
  if (!target.ok()) return 0;
  for (float score : *target) {
    if (!(score >= 0.0f && score <= 1.0f)) __builtin_trap();
  }
  absl::StatusOr<llive::bridge::ThoughtVector> again =
      llive::bridge::ParsePersona(llive::bridge::SerializePersona(*target));
  if (!again.ok() || *again != *target) __builtin_trap();
  return 0;
}
