// Row readers for the MemoryStore's tables.
#include "memory/store_rows.h"

#include <unistd.h>

#include <chrono>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "memory/provenance_json.h"

namespace llive::memory {
namespace {

absl::Status Damaged(absl::string_view what, const absl::Status& status) {
  return absl::DataLossError(absl::StrCat("stored ", what, " is damaged: ", status.message()));
}

}  // namespace

std::string NewUid() {
  // Seeded again in a child after fork(): it would otherwise repeat its parent's sequence, and
  // two forked writers (memory_tests' crash test) collide on events.uid.
  thread_local std::mt19937_64 random;
  thread_local pid_t seeded_in = 0;
  if (const pid_t pid = getpid(); pid != seeded_in) {
    std::random_device device;
    random.seed((static_cast<uint64_t>(device()) << 32) ^ device());
    seeded_in = pid;
  }
  // Time first (milliseconds, big-endian, so the hex sorts by time), then 80 random bits: new
  // uids land at the end of the UNIQUE index instead of on a random page of it, which at a
  // million events cost a page read and a page write per append.
  const uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  const uint64_t noise = random(), more = random();
  unsigned char bytes[16];
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  for (int i = 0; i < 8; ++i) bytes[6 + i] = static_cast<unsigned char>(noise >> (8 * i));
  bytes[14] = static_cast<unsigned char>(more);
  bytes[15] = static_cast<unsigned char>(more >> 8);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

std::string AgentToken(absl::string_view agent_id) {
  return absl::StrCat("ag", absl::BytesToHexString(agent_id));
}

absl::StatusOr<Event> ReadEvent(const Statement& row) {
  Event event;
  event.id = row.ColumnInt(0);
  event.uid = row.ColumnText(1);
  event.agent_id = row.ColumnText(2);
  event.ts_ms = row.ColumnInt(3);
  event.kind = row.ColumnText(4);
  event.content = row.ColumnText(5);
  event.metadata = row.ColumnText(6);
  absl::StatusOr<PrivacyClass> privacy = ParsePrivacy(row.ColumnText(7));
  if (!privacy.ok()) return Damaged("event privacy", privacy.status());
  event.privacy = *privacy;
  absl::StatusOr<Provenance> provenance = ProvenanceFromText(row.ColumnText(8));
  if (!provenance.ok()) return Damaged("event provenance", provenance.status());
  event.provenance = *std::move(provenance);
  event.surprise = row.ColumnDouble(9);
  event.importance = row.ColumnDouble(10);
  event.factors = row.ColumnFloats(11);
  absl::StatusOr<Phase> phase = ParsePhase(row.ColumnText(12));
  if (!phase.ok()) return Damaged("event phase", phase.status());
  event.phase = *phase;
  event.last_access_ms = row.ColumnInt(13);
  event.access_count = row.ColumnInt(14);
  event.embedder = row.ColumnText(15);
  return event;
}

absl::StatusOr<SemanticEntry> ReadEntry(const Statement& row) {
  SemanticEntry entry;
  entry.id = row.ColumnInt(0);
  entry.uid = row.ColumnText(1);
  entry.agent_id = row.ColumnText(2);
  entry.kind = row.ColumnText(3);
  entry.content = row.ColumnText(4);
  entry.metadata = row.ColumnText(5);
  absl::StatusOr<PrivacyClass> privacy = ParsePrivacy(row.ColumnText(6));
  if (!privacy.ok()) return Damaged("entry privacy", privacy.status());
  entry.privacy = *privacy;
  absl::StatusOr<Provenance> provenance = ProvenanceFromText(row.ColumnText(7));
  if (!provenance.ok()) return Damaged("entry provenance", provenance.status());
  entry.provenance = *std::move(provenance);
  entry.importance = row.ColumnDouble(8);
  entry.surprise = row.ColumnDouble(9);
  absl::StatusOr<Phase> phase = ParsePhase(row.ColumnText(10));
  if (!phase.ok()) return Damaged("entry phase", phase.status());
  entry.phase = *phase;
  entry.created_ms = row.ColumnInt(11);
  entry.updated_ms = row.ColumnInt(12);
  entry.last_access_ms = row.ColumnInt(13);
  entry.access_count = row.ColumnInt(14);
  entry.embedder = row.ColumnText(15);
  return entry;
}

absl::StatusOr<Page> ReadPage(const Statement& row) {
  Page page;
  page.id = row.ColumnInt(0);
  page.uid = row.ColumnText(1);
  page.agent_id = row.ColumnText(2);
  page.title = row.ColumnText(3);
  page.summary = row.ColumnText(4);
  page.fields = row.ColumnText(5);
  absl::StatusOr<PrivacyClass> privacy = ParsePrivacy(row.ColumnText(6));
  if (!privacy.ok()) return Damaged("page privacy", privacy.status());
  page.privacy = *privacy;
  absl::StatusOr<Provenance> provenance = ProvenanceFromText(row.ColumnText(7));
  if (!provenance.ok()) return Damaged("page provenance", provenance.status());
  page.provenance = *std::move(provenance);
  absl::StatusOr<Phase> phase = ParsePhase(row.ColumnText(8));
  if (!phase.ok()) return Damaged("page phase", phase.status());
  page.phase = *phase;
  page.created_ms = row.ColumnInt(9);
  page.updated_ms = row.ColumnInt(10);
  page.last_access_ms = row.ColumnInt(11);
  page.visits = row.ColumnInt(12);
  page.reward_sum = row.ColumnDouble(13);
  return page;
}

absl::StatusOr<Artifact> ReadArtifact(const Statement& row) {
  Artifact artifact;
  artifact.id = row.ColumnInt(0);
  artifact.uid = row.ColumnText(1);
  artifact.agent_id = row.ColumnText(2);
  artifact.kind = row.ColumnText(3);
  artifact.name = row.ColumnText(4);
  artifact.format_version = row.ColumnInt(5);
  artifact.bytes = row.ColumnBlob(6);
  artifact.sha256_hex = row.ColumnText(7);
  absl::StatusOr<PrivacyClass> privacy = ParsePrivacy(row.ColumnText(8));
  if (!privacy.ok()) return Damaged("artifact privacy", privacy.status());
  artifact.privacy = *privacy;
  absl::StatusOr<Provenance> provenance = ProvenanceFromText(row.ColumnText(9));
  if (!provenance.ok()) return Damaged("artifact provenance", provenance.status());
  artifact.provenance = *std::move(provenance);
  artifact.created_ms = row.ColumnInt(10);
  return artifact;
}

}  // namespace llive::memory
