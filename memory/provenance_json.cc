// Provenance <-> JSON.
#include "memory/provenance_json.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace llive::memory {

nlohmann::json ProvenanceToJson(const Provenance& provenance) {
  return nlohmann::json{{"source_type", provenance.source_type},
                        {"source_id", provenance.source_id},
                        {"signed_by", provenance.signed_by},
                        {"signature", absl::Base64Escape(provenance.signature)},
                        {"derived_from", provenance.derived_from},
                        {"confidence", provenance.confidence},
                        {"created_at_ms", provenance.created_at_ms}};
}

absl::StatusOr<Provenance> ProvenanceFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("provenance must be a JSON object");
  Provenance provenance;
  try {
    if (json.contains("source_type")) provenance.source_type = json["source_type"];
    if (json.contains("source_id")) provenance.source_id = json["source_id"];
    if (json.contains("signed_by")) provenance.signed_by = json["signed_by"];
    if (json.contains("signature") &&
        !absl::Base64Unescape(json["signature"].get<std::string>(), &provenance.signature)) {
      return absl::InvalidArgumentError("provenance.signature is not base64");
    }
    if (json.contains("derived_from")) {
      provenance.derived_from = json["derived_from"].get<std::vector<std::string>>();
    }
    if (json.contains("confidence")) provenance.confidence = json["confidence"];
    if (json.contains("created_at_ms")) {
      // A float would be cast to int64_t, which is undefined beyond its range.
      if (!json["created_at_ms"].is_number_integer()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "provenance.created_at_ms must be an integer, not ", json["created_at_ms"].dump()));
      }
      provenance.created_at_ms = json["created_at_ms"];
    }
  } catch (const nlohmann::json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("bad provenance: ", error.what()));
  }
  if (!(provenance.confidence >= 0 && provenance.confidence <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("provenance.confidence ", provenance.confidence, " is outside [0, 1]"));
  }
  return provenance;
}

absl::StatusOr<Provenance> ProvenanceFromText(absl::string_view text) {
  nlohmann::json json = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (json.is_discarded()) return absl::DataLossError("stored provenance is not JSON");
  return ProvenanceFromJson(json);
}

}  // namespace llive::memory
