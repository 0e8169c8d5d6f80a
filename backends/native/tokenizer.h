// Tokenizer: text to token ids and back, for the native models' vocabularies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace llive::backends::native {

// A loaded vocabulary. Immutable after loading, so safe to share across threads.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids for `text`. Any byte string is encodable (byte fallback), so this fails
  // only on internal limits (InvalidArgument naming them).
  virtual absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const = 0;

  // The bytes the ids stand for, concatenated; ids out of range are skipped. Decoding
  // the ids of any byte string gives those bytes back.
  virtual std::string Decode(absl::Span<const int32_t> ids) const = 0;

  // The bytes of one token (empty for an id out of range or a control token).
  virtual std::string TokenBytes(int32_t id) const = 0;

  virtual int32_t vocab_size() const = 0;
  // Special tokens; -1 where the vocabulary has none.
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
};

}  // namespace llive::backends::native
