// Export and import of one agent's memory as JSON Lines. Vectors are not exported: the
// importing store embeds the text with its own embedder, so files move between embedders.
#include <initializer_list>
#include <istream>
#include <ostream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "memory/fts_tokenizer.h"
#include "memory/memory_store.h"
#include "memory/provenance_json.h"
#include "memory/sha256.h"
#include "memory/store_rows.h"
#include "memory/text_segmenter.h"
#include "memory/vector_cache.h"
#include "nlohmann/json.hpp"

namespace llive::memory {
namespace {

constexpr char kHeaderType[] = "llive_memory_export";
constexpr int kExportVersion = 1;

enum class FieldType { kInteger, kNumber, kString, kObject, kNumberArray, kStringArray };

// Optional fields keep their default when absent; when present they must have the type the
// writer gives them, so the write pass after validation cannot meet a surprise.
absl::Status CheckOptionalFields(const nlohmann::json& json,
                                 std::initializer_list<std::pair<const char*, FieldType>> fields) {
  for (const auto& [key, type] : fields) {
    auto it = json.find(key);
    if (it == json.end()) continue;
    bool ok = false;
    switch (type) {
      case FieldType::kInteger:
        ok = it->is_number_integer();
        break;
      case FieldType::kNumber:
        ok = it->is_number();
        break;
      case FieldType::kString:
        ok = it->is_string();
        break;
      case FieldType::kObject:
        ok = it->is_object();
        break;
      case FieldType::kNumberArray:
      case FieldType::kStringArray:
        ok = it->is_array();
        for (const nlohmann::json& item : *it) {
          if (type == FieldType::kNumberArray ? !item.is_number() : !item.is_string()) ok = false;
        }
        break;
    }
    if (!ok) {
      static constexpr const char* kNames[] = {
          "an integer",          "a number",           "a string", "an object",
          "an array of numbers", "an array of strings"};
      return absl::InvalidArgumentError(
          absl::StrCat("\"", key, "\" must be ", kNames[static_cast<int>(type)]));
    }
  }
  return absl::OkStatus();
}

nlohmann::json ParseObject(const std::string& text) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  return json.is_object() ? json : nlohmann::json::object();
}

}  // namespace

absl::StatusOr<int64_t> MemoryStore::Export(absl::string_view agent_id, std::ostream& out) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  // One read transaction: the file is a consistent snapshot.
  if (absl::Status s = db_->Exec("BEGIN"); !s.ok()) return s;
  struct EndRead {
    Database& db;
    ~EndRead() { db.Exec("COMMIT").IgnoreError(); }
  } end_read{*db_};
  int64_t lines = 0;
  auto emit = [&](const nlohmann::json& json) {
    out << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    ++lines;
  };
  emit({{"type", kHeaderType},
        {"version", kExportVersion},
        {"agent_id", agent_id},
        {"embedder", options_.embedder->tag()}});
  absl::flat_hash_map<int64_t, std::string> event_uids, page_uids;
  {
    absl::StatusOr<StatementLease> events = Prepared(absl::StrCat(
        "SELECT ", kEventColumns,
        " FROM events e JOIN embedders m ON m.id = e.embedder_id WHERE e.agent_id = ?1 "
        "ORDER BY e.id"));
    if (!events.ok()) return events.status();
    (*events)->Bind(1, agent_id);
    while (true) {
      absl::StatusOr<bool> row = (*events)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      absl::StatusOr<Event> event = ReadEvent(**events);
      if (!event.ok()) return event.status();
      event_uids[event->id] = event->uid;
      emit({{"type", "event"},
            {"uid", event->uid},
            {"ts_ms", event->ts_ms},
            {"kind", event->kind},
            {"content", event->content},
            {"metadata", ParseObject(event->metadata)},
            {"privacy", PrivacyName(event->privacy)},
            {"provenance", ProvenanceToJson(event->provenance)},
            {"surprise", event->surprise},
            {"importance", event->importance},
            {"factors", event->factors},
            {"phase", PhaseName(event->phase)},
            {"last_access_ms", event->last_access_ms},
            {"access_count", event->access_count}});
    }
  }
  {
    absl::StatusOr<StatementLease> entries = Prepared(absl::StrCat(
        "SELECT ", kEntryColumns,
        " FROM entries e JOIN embedders m ON m.id = e.embedder_id WHERE e.agent_id = ?1 "
        "ORDER BY e.id"));
    if (!entries.ok()) return entries.status();
    (*entries)->Bind(1, agent_id);
    while (true) {
      absl::StatusOr<bool> row = (*entries)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      absl::StatusOr<SemanticEntry> entry = ReadEntry(**entries);
      if (!entry.ok()) return entry.status();
      emit({{"type", "entry"},
            {"uid", entry->uid},
            {"kind", entry->kind},
            {"content", entry->content},
            {"metadata", ParseObject(entry->metadata)},
            {"privacy", PrivacyName(entry->privacy)},
            {"provenance", ProvenanceToJson(entry->provenance)},
            {"importance", entry->importance},
            {"surprise", entry->surprise},
            {"phase", PhaseName(entry->phase)},
            {"created_ms", entry->created_ms},
            {"updated_ms", entry->updated_ms},
            {"last_access_ms", entry->last_access_ms},
            {"access_count", entry->access_count}});
    }
  }
  {
    absl::StatusOr<StatementLease> pages = Prepared(
        absl::StrCat("SELECT ", kPageColumns, " FROM pages WHERE agent_id = ?1 ORDER BY id"));
    if (!pages.ok()) return pages.status();
    (*pages)->Bind(1, agent_id);
    std::vector<Page> found;
    while (true) {
      absl::StatusOr<bool> row = (*pages)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      absl::StatusOr<Page> page = ReadPage(**pages);
      if (!page.ok()) return page.status();
      found.push_back(*std::move(page));
    }
    for (const Page& page : found) {
      page_uids[page.id] = page.uid;
      std::vector<std::string> linked;
      absl::StatusOr<StatementLease> links =
          Prepared("SELECT event_id FROM page_events WHERE page_id = ?1 ORDER BY event_id");
      if (!links.ok()) return links.status();
      (*links)->Bind(1, page.id);
      while (true) {
        absl::StatusOr<bool> row = (*links)->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        linked.push_back(event_uids[(*links)->ColumnInt(0)]);
      }
      emit({{"type", "page"},
            {"uid", page.uid},
            {"title", page.title},
            {"summary", page.summary},
            {"fields", ParseObject(page.fields)},
            {"privacy", PrivacyName(page.privacy)},
            {"provenance", ProvenanceToJson(page.provenance)},
            {"phase", PhaseName(page.phase)},
            {"created_ms", page.created_ms},
            {"updated_ms", page.updated_ms},
            {"last_access_ms", page.last_access_ms},
            {"visits", page.visits},
            {"reward_sum", page.reward_sum},
            {"linked_events", linked}});
    }
  }
  {
    absl::StatusOr<StatementLease> edges = Prepared(
        "SELECT source, target, type, weight, updated_ms FROM edges WHERE agent_id = ?1 "
        "ORDER BY source, target, type");
    if (!edges.ok()) return edges.status();
    (*edges)->Bind(1, agent_id);
    while (true) {
      absl::StatusOr<bool> row = (*edges)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      emit({{"type", "edge"},
            {"source", page_uids[(*edges)->ColumnInt(0)]},
            {"target", page_uids[(*edges)->ColumnInt(1)]},
            {"edge_type", (*edges)->ColumnText(2)},
            {"weight", (*edges)->ColumnDouble(3)},
            {"updated_ms", (*edges)->ColumnInt(4)}});
    }
  }
  {
    absl::StatusOr<StatementLease> artifacts = Prepared(absl::StrCat(
        "SELECT ", kArtifactColumns, " FROM artifacts WHERE agent_id = ?1 ORDER BY id"));
    if (!artifacts.ok()) return artifacts.status();
    (*artifacts)->Bind(1, agent_id);
    while (true) {
      absl::StatusOr<bool> row = (*artifacts)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      absl::StatusOr<Artifact> artifact = ReadArtifact(**artifacts);
      if (!artifact.ok()) return artifact.status();
      emit({{"type", "artifact"},
            {"uid", artifact->uid},
            {"kind", artifact->kind},
            {"name", artifact->name},
            {"format_version", artifact->format_version},
            {"bytes_base64", absl::Base64Escape(artifact->bytes)},
            {"sha256", artifact->sha256_hex},
            {"privacy", PrivacyName(artifact->privacy)},
            {"provenance", ProvenanceToJson(artifact->provenance)},
            {"created_ms", artifact->created_ms}});
    }
  }
  if (!out) return absl::UnavailableError("cannot write the export");
  return lines;
}

absl::StatusOr<ImportReport> MemoryStore::Import(absl::string_view agent_id, std::istream& in) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  // Parse and check everything before writing anything.
  std::vector<nlohmann::json> records;
  std::string line;
  int64_t line_number = 0;
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("import line ", line_number, ": ", why));
    };
    if (!IsValidUtf8(line)) return bad("not valid UTF-8");
    nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("type") ||
        !json["type"].is_string()) {
      return bad("not a JSON object with a \"type\"");
    }
    const std::string type = json["type"];
    if (!header_seen) {
      const auto version = json.find("version");
      if (type != kHeaderType || version == json.end() || !version->is_number_integer() ||
          version->get<int64_t>() != kExportVersion) {
        return bad(absl::StrCat("the first line must be the ", kHeaderType, " header, version ",
                                kExportVersion));
      }
      header_seen = true;
      continue;
    }
    // The write pass reads every record's uid (edges and artifacts too) outside the try.
    if (json.contains("uid") && !json["uid"].is_string()) return bad("\"uid\" must be a string");
    try {
      absl::Status optional = absl::OkStatus();
      if (type == "event") {
        optional = CheckOptionalFields(json, {{"ts_ms", FieldType::kInteger},
                                              {"surprise", FieldType::kNumber},
                                              {"last_access_ms", FieldType::kInteger},
                                              {"access_count", FieldType::kInteger},
                                              {"factors", FieldType::kNumberArray}});
      } else if (type == "entry") {
        optional = CheckOptionalFields(
            json, {{"surprise", FieldType::kNumber}, {"created_ms", FieldType::kInteger}});
      } else if (type == "page") {
        optional = CheckOptionalFields(json, {{"summary", FieldType::kString},
                                              {"fields", FieldType::kObject},
                                              {"phase", FieldType::kString},
                                              {"created_ms", FieldType::kInteger},
                                              {"updated_ms", FieldType::kInteger},
                                              {"last_access_ms", FieldType::kInteger},
                                              {"visits", FieldType::kInteger},
                                              {"reward_sum", FieldType::kNumber},
                                              {"linked_events", FieldType::kStringArray}});
      } else if (type == "edge") {
        optional = CheckOptionalFields(json, {{"updated_ms", FieldType::kInteger}});
      } else if (type == "artifact") {
        optional = CheckOptionalFields(json, {{"kind", FieldType::kString},
                                              {"name", FieldType::kString},
                                              {"format_version", FieldType::kInteger},
                                              {"created_ms", FieldType::kInteger}});
      }
      if (!optional.ok()) return bad(optional.message());
      if (type == "event" || type == "entry") {
        const std::string content = json.at("content");
        if (absl::Status s = CheckContent(absl::StrCat("line ", line_number, " content"), content);
            !s.ok()) {
          return s;
        }
        absl::StatusOr<PrivacyClass> privacy = ParsePrivacy(json.at("privacy").get<std::string>());
        if (!privacy.ok()) return bad(privacy.status().message());
        absl::StatusOr<Phase> phase = ParsePhase(json.at("phase").get<std::string>());
        if (!phase.ok() || *phase == Phase::kErased) return bad("bad phase");
        absl::StatusOr<Provenance> provenance = ProvenanceFromJson(json.at("provenance"));
        if (!provenance.ok()) return bad(provenance.status().message());
        if (!json.at("metadata").is_object()) return bad("metadata must be an object");
        json.at("uid").get<std::string>();
        json.at("kind").get<std::string>();
        json.at("importance").get<double>();
      } else if (type == "page") {
        json.at("uid").get<std::string>();
        if (json.contains("phase")) {
          absl::StatusOr<Phase> phase = ParsePhase(json["phase"].get<std::string>());
          if (!phase.ok() || *phase == Phase::kErased) return bad("bad phase");
        }
        if (absl::Status s = CheckContent("page title", json.at("title").get<std::string>());
            !s.ok()) {
          return bad(s.message());
        }
        if (!ParsePrivacy(json.at("privacy").get<std::string>()).ok()) return bad("bad privacy");
        if (!ProvenanceFromJson(json.at("provenance")).ok()) return bad("bad provenance");
      } else if (type == "edge") {
        if (!ParseEdgeType(json.at("edge_type").get<std::string>()).ok()) {
          return bad("bad edge type");
        }
        json.at("source").get<std::string>();
        json.at("target").get<std::string>();
        json.at("weight").get<double>();
      } else if (type == "artifact") {
        std::string bytes;
        if (!absl::Base64Unescape(json.at("bytes_base64").get<std::string>(), &bytes)) {
          return bad("bytes_base64 is not base64");
        }
        if (Sha256Hex(bytes) != json.at("sha256").get<std::string>()) {
          return absl::DataLossError(absl::StrCat(
              "import line ", line_number, ": the artifact's bytes do not match its sha256"));
        }
        if (!ParsePrivacy(json.at("privacy").get<std::string>()).ok()) return bad("bad privacy");
        if (!ProvenanceFromJson(json.at("provenance")).ok()) return bad("bad provenance");
      } else {
        return bad(absl::StrCat("unknown record type \"", type, "\""));
      }
    } catch (const nlohmann::json::exception& error) {
      return bad(error.what());
    }
    records.push_back(std::move(json));
  }
  if (!header_seen) return absl::InvalidArgumentError("the import is empty: no header line");

  // Embedding happens before taking the lock.
  std::vector<std::vector<float>> vectors(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string type = records[i]["type"];
    if (type != "event" && type != "entry") continue;
    absl::StatusOr<std::vector<float>> vector =
        options_.embedder->Embed(records[i]["content"].get<std::string>());
    if (!vector.ok()) return vector.status();
    vectors[i] = *std::move(vector);
  }

  absl::MutexLock lock(&mu_);
  ImportReport report;
  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  absl::flat_hash_map<std::string, int64_t> event_ids, page_ids;
  // A uid already stored for this agent means the record was imported before: skipped. One
  // stored for another agent (a copy between agents of one database) gets a new uid.
  auto resolve_uid = [&](const char* table, const std::string& uid,
                         std::string* resolved) -> absl::StatusOr<bool> {
    absl::StatusOr<StatementLease> select =
        Prepared(absl::StrCat("SELECT agent_id FROM ", table, " WHERE uid = ?1"));
    if (!select.ok()) return select.status();
    (*select)->Bind(1, uid);
    absl::StatusOr<bool> row = (*select)->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      *resolved = uid;
      return false;
    }
    if ((*select)->ColumnText(0) == agent_id) return true;
    *resolved = NewUid();
    return false;
  };
  for (size_t i = 0; i < records.size(); ++i) {
    nlohmann::json& r = records[i];
    const std::string type = r["type"];
    const std::string original_uid = r.value("uid", std::string());
    if (type == "event") {
      std::string uid;
      absl::StatusOr<bool> exists = resolve_uid("events", original_uid, &uid);
      if (!exists.ok()) return exists.status();
      if (*exists) {
        ++report.skipped;
        continue;
      }
      r["uid"] = uid;
      absl::StatusOr<StatementLease> insert = Prepared(
          "INSERT INTO events(uid, agent_id, ts_ms, kind, content, metadata, privacy, "
          "provenance, surprise, importance, factors, phase, last_access_ms, access_count, "
          "embedder_id, embedding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
          "?13, ?14, ?15, ?16)");
      if (!insert.ok()) return insert.status();
      const std::vector<float> factors = r.value("factors", std::vector<float>{});
      (*insert)
          ->Bind(1, r["uid"].get<std::string>())
          .Bind(2, agent_id)
          .Bind(3, r.value("ts_ms", int64_t{0}))
          .Bind(4, r["kind"].get<std::string>())
          .Bind(5, r["content"].get<std::string>())
          .Bind(6, r["metadata"].dump())
          .Bind(7, r["privacy"].get<std::string>())
          .Bind(8, ProvenanceToJson(*ProvenanceFromJson(r["provenance"])).dump())
          .Bind(9, r.value("surprise", 0.0))
          .Bind(10, r["importance"].get<double>())
          .Bind(12, r["phase"].get<std::string>())
          .Bind(13, r.value("last_access_ms", Now()))
          .Bind(14, r.value("access_count", int64_t{0}))
          .Bind(15, embedder_row_id_)
          .BindBlob(16, vectors[i].data(), vectors[i].size() * sizeof(float));
      if (factors.empty()) {
        (*insert)->BindNull(11);
      } else {
        (*insert)->BindBlob(11, factors.data(), factors.size() * sizeof(float));
      }
      if (absl::Status s = (*insert)->Run(); !s.ok()) return s;
      const int64_t id = sqlite3_last_insert_rowid(db_->handle());
      event_ids[original_uid] = id;
      absl::StatusOr<StatementLease> fts =
          Prepared("INSERT INTO events_fts(rowid, content) VALUES (?1, ?2)");
      if (!fts.ok()) return fts.status();
      (*fts)->Bind(1, id).Bind(2, FtsDocument(agent_id, r["content"].get<std::string>()));
      if (absl::Status s = (*fts)->Run(); !s.ok()) return s;
      ++report.events;
    } else if (type == "entry") {
      std::string uid;
      absl::StatusOr<bool> exists = resolve_uid("entries", original_uid, &uid);
      if (!exists.ok()) return exists.status();
      if (*exists) {
        ++report.skipped;
        continue;
      }
      r["uid"] = uid;
      SemanticEntryInput entry;
      entry.kind = r["kind"];
      entry.content = r["content"];
      entry.metadata = r["metadata"].dump();
      entry.importance = r["importance"];
      entry.privacy = *ParsePrivacy(r["privacy"].get<std::string>());
      entry.provenance = *ProvenanceFromJson(r["provenance"]);
      absl::StatusOr<int64_t> id =
          InsertEntry(agent_id, entry, vectors[i], r.value("surprise", 0.0), r["uid"],
                      r.value("created_ms", Now()));
      if (!id.ok()) return id.status();
      ++report.entries;
    } else if (type == "page") {
      std::string uid;
      absl::StatusOr<bool> exists = resolve_uid("pages", original_uid, &uid);
      if (!exists.ok()) return exists.status();
      if (*exists) {
        ++report.skipped;
        continue;
      }
      r["uid"] = uid;
      absl::StatusOr<StatementLease> insert = Prepared(
          "INSERT INTO pages(uid, agent_id, title, summary, fields, privacy, provenance, phase, "
          "created_ms, updated_ms, last_access_ms, visits, reward_sum) VALUES (?1, ?2, ?3, ?4, "
          "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
      if (!insert.ok()) return insert.status();
      (*insert)
          ->Bind(1, r["uid"].get<std::string>())
          .Bind(2, agent_id)
          .Bind(3, r["title"].get<std::string>())
          .Bind(4, r.value("summary", std::string()))
          .Bind(5, r.value("fields", nlohmann::json::object()).dump())
          .Bind(6, r["privacy"].get<std::string>())
          .Bind(7, ProvenanceToJson(*ProvenanceFromJson(r["provenance"])).dump())
          .Bind(8, r.value("phase", std::string("hot")))
          .Bind(9, r.value("created_ms", Now()))
          .Bind(10, r.value("updated_ms", Now()))
          .Bind(11, r.value("last_access_ms", Now()))
          .Bind(12, r.value("visits", int64_t{0}))
          .Bind(13, r.value("reward_sum", 0.0));
      if (absl::Status s = (*insert)->Run(); !s.ok()) return s;
      const int64_t id = sqlite3_last_insert_rowid(db_->handle());
      page_ids[original_uid] = id;
      for (const auto& event_uid : r.value("linked_events", std::vector<std::string>{})) {
        auto it = event_ids.find(event_uid);
        if (it == event_ids.end()) continue;
        absl::StatusOr<StatementLease> link =
            Prepared("INSERT OR IGNORE INTO page_events(page_id, event_id) VALUES (?1, ?2)");
        if (!link.ok()) return link.status();
        (*link)->Bind(1, id).Bind(2, it->second);
        if (absl::Status s = (*link)->Run(); !s.ok()) return s;
      }
      ++report.pages;
    } else if (type == "edge") {
      auto source = page_ids.find(r["source"].get<std::string>());
      auto target = page_ids.find(r["target"].get<std::string>());
      if (source == page_ids.end() || target == page_ids.end()) {
        ++report.skipped;
        continue;
      }
      absl::StatusOr<StatementLease> insert = Prepared(
          "INSERT OR REPLACE INTO edges(source, target, type, agent_id, weight, updated_ms) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
      if (!insert.ok()) return insert.status();
      (*insert)
          ->Bind(1, source->second)
          .Bind(2, target->second)
          .Bind(3, r["edge_type"].get<std::string>())
          .Bind(4, agent_id)
          .Bind(5, std::clamp(r["weight"].get<double>(), 0.0, 1.0))
          .Bind(6, r.value("updated_ms", Now()));
      if (absl::Status s = (*insert)->Run(); !s.ok()) return s;
      ++report.edges;
    } else if (type == "artifact") {
      std::string uid;
      absl::StatusOr<bool> exists = resolve_uid("artifacts", original_uid, &uid);
      if (!exists.ok()) return exists.status();
      if (*exists) {
        ++report.skipped;
        continue;
      }
      r["uid"] = uid;
      std::string bytes;
      absl::Base64Unescape(r["bytes_base64"].get<std::string>(), &bytes);
      absl::StatusOr<StatementLease> insert = Prepared(
          "INSERT INTO artifacts(uid, agent_id, kind, name, format_version, bytes, sha256, "
          "privacy, provenance, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
      if (!insert.ok()) return insert.status();
      (*insert)
          ->Bind(1, r["uid"].get<std::string>())
          .Bind(2, agent_id)
          .Bind(3, r.value("kind", std::string("adapter")))
          .Bind(4, r.value("name", std::string("unnamed")))
          .Bind(5, r.value("format_version", int64_t{1}))
          .BindBlob(6, bytes.data(), bytes.size())
          .Bind(7, r["sha256"].get<std::string>())
          .Bind(8, r["privacy"].get<std::string>())
          .Bind(9, ProvenanceToJson(*ProvenanceFromJson(r["provenance"])).dump())
          .Bind(10, r.value("created_ms", Now()));
      if (absl::Status s = (*insert)->Run(); !s.ok()) return s;
      ++report.artifacts;
    }
  }
  if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  windows_.erase(agent_id);
  for (Layer layer : {Layer::kEpisodic, Layer::kSemantic}) {
    if (absl::Status s = vectors_->CatchUp(*db_, layer, agent_id); !s.ok()) return s;
  }
  return report;
}

}  // namespace llive::memory
