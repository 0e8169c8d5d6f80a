// The byte format of a serialised recurrent state, shared by the native models:
//
//   "LLIVESTA"            8 bytes, magic
//   version               u32 (kStateFormatVersion)
//   architecture          u32 length + bytes ("mamba", "rwkv7")
//   fingerprint           u32 length + bytes (ModelInfo::fingerprint of the model that made it)
//   position              i64 (tokens fed)
//   tensor count          u32
//   per tensor:           name (u32 length + bytes), kind (u32 length + bytes), layer i32,
//                         rank u32, dims i64 x rank, values f32 x product(dims)
//   checksum              32 bytes, SHA-256 of every byte before it
//
// Integers and floats are little-endian. The format is documented in docs/state_format.md.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/stateful_backend.h"

namespace llive::backends::native {

inline constexpr uint32_t kStateFormatVersion = 1;

// The bytes of `view` (a state at `position` of the model `info`).
std::string SerializeStateView(const ModelInfo& info, int64_t position, const StateView& view);

// Checks `bytes` and copies its tensors into `into`, which must be a view of a fresh state of
// the model `info` (same tensor names and shapes, in the same order). Returns the position.
// On an error `into` is left as it was: every header is checked before a value is copied.
// DataLoss for a blob that is truncated, has a bad magic or checksum, or does not parse;
// FailedPrecondition for an unknown format version, another architecture, another model
// (fingerprint) or tensors that do not match the model's state (name, shape, kind, layer).
absl::StatusOr<int64_t> DeserializeStateView(absl::string_view bytes, const ModelInfo& info,
                                             StateView& into);

// SHA-256 of `bytes` as 64 lowercase hex digits (model fingerprints).
std::string Sha256Hex(absl::string_view bytes);

}  // namespace llive::backends::native
