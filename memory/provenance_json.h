// Provenance as the JSON object stored in the `provenance` column and in exports.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "memory/records.h"
#include "nlohmann/json.hpp"

namespace llive::memory {

// {"source_type", "source_id", "signed_by", "signature" (base64), "derived_from" [...],
//  "confidence", "created_at_ms"}.
nlohmann::json ProvenanceToJson(const Provenance& provenance);
// InvalidArgument naming the field when a field has the wrong type or confidence is outside
// [0, 1]. Missing fields keep their defaults.
absl::StatusOr<Provenance> ProvenanceFromJson(const nlohmann::json& json);
absl::StatusOr<Provenance> ProvenanceFromText(absl::string_view text);

}  // namespace llive::memory
