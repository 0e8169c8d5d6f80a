// The parameter layer: artifacts (state snapshots, bridge parameters, adapters) as bytes with
// a sha256 checked on every read.

#include "absl/strings/str_cat.h"
#include "memory/memory_store.h"
#include "memory/provenance_json.h"
#include "memory/sha256.h"
#include "memory/store_rows.h"

namespace llive::memory {
namespace {

absl::StatusOr<Artifact> Verified(absl::StatusOr<Artifact> artifact) {
  if (!artifact.ok()) return artifact;
  if (Sha256Hex(artifact->bytes) != artifact->sha256_hex) {
    return absl::DataLossError(absl::StrCat(
        "artifact ", artifact->id, " (", artifact->kind, " \"", artifact->name,
        "\") does not match its sha256; it was damaged or tampered with; write it again"));
  }
  return artifact;
}

const std::string& ArtifactSelect() {
  static const std::string* select =
      new std::string(absl::StrCat("SELECT ", kArtifactColumns, " FROM artifacts "));
  return *select;
}

}  // namespace

absl::StatusOr<int64_t> MemoryStore::PutArtifact(absl::string_view agent_id,
                                                 const ArtifactInput& artifact) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  if (artifact.kind.empty() || artifact.name.empty()) {
    return absl::InvalidArgumentError("artifact kind and name must not be empty");
  }
  absl::MutexLock lock(&mu_);
  const int64_t now = Now();
  Provenance provenance = artifact.provenance;
  if (provenance.created_at_ms == 0) provenance.created_at_ms = now;
  absl::StatusOr<StatementLease> insert = Prepared(
      "INSERT INTO artifacts(uid, agent_id, kind, name, format_version, bytes, sha256, privacy, "
      "provenance, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!insert.ok()) return insert.status();
  (*insert)
      ->Bind(1, NewUid())
      .Bind(2, agent_id)
      .Bind(3, artifact.kind)
      .Bind(4, artifact.name)
      .Bind(5, artifact.format_version)
      .BindBlob(6, artifact.bytes.data(), artifact.bytes.size())
      .Bind(7, Sha256Hex(artifact.bytes))
      .Bind(8, PrivacyName(artifact.privacy))
      .Bind(9, ProvenanceToJson(provenance).dump())
      .Bind(10, now);
  if (absl::Status s = (*insert)->Run(); !s.ok()) return s;
  return sqlite3_last_insert_rowid(db_->handle());
}

absl::StatusOr<Artifact> MemoryStore::GetArtifact(absl::string_view agent_id, int64_t id) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(ArtifactSelect() + "WHERE id = ?1 AND agent_id = ?2");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, id).Bind(2, agent_id);
  absl::StatusOr<bool> row = (*select)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no artifact ", id));
  return Verified(ReadArtifact(**select));
}

absl::StatusOr<Artifact> MemoryStore::LatestArtifact(absl::string_view agent_id,
                                                     absl::string_view kind,
                                                     absl::string_view name) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(ArtifactSelect() +
               "WHERE agent_id = ?1 AND kind = ?2 AND name = ?3 ORDER BY id DESC LIMIT 1");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, agent_id).Bind(2, kind).Bind(3, name);
  absl::StatusOr<bool> row = (*select)->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(
        absl::StrCat("agent ", agent_id, " has no ", kind, " artifact named \"", name, "\""));
  }
  return Verified(ReadArtifact(**select));
}

absl::StatusOr<std::vector<Artifact>> MemoryStore::LatestArtifacts(absl::string_view agent_id,
                                                                   absl::string_view kind) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(ArtifactSelect() +
               "WHERE id IN (SELECT MAX(id) FROM artifacts WHERE agent_id = ?1 AND kind = ?2 "
               "GROUP BY name) ORDER BY name");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, agent_id).Bind(2, kind);
  std::vector<Artifact> artifacts;
  for (;;) {
    absl::StatusOr<bool> row = (*select)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return artifacts;
    absl::StatusOr<Artifact> artifact = Verified(ReadArtifact(**select));
    if (!artifact.ok()) return artifact.status();
    artifacts.push_back(*std::move(artifact));
  }
}

}  // namespace llive::memory
