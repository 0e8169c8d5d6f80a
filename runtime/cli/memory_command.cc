// `llive memory add|search|stats|export|import|forget|backup`: the memory store from the shell.
#include <fstream>
#include <iomanip>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "memory/memory_store.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/home_memory.h"

namespace llive::cli {
namespace {

// Opens the home and its store, or reports why not and returns null.
std::unique_ptr<memory::MemoryStore> OpenStoreOrReport(CliContext& context) {
  std::optional<runtime::Home> home = OpenHomeOrReport(context);
  if (!home) return nullptr;
  absl::StatusOr<std::unique_ptr<memory::MemoryStore>> store = OpenHomeMemory(*home);
  if (!store.ok()) {
    ReportError(context, store.status());
    return nullptr;
  }
  return *std::move(store);
}

int UsageOr(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

nlohmann::json HitJson(const memory::RecallHit& hit) {
  return {{"layer", memory::LayerName(hit.layer)},
          {"id", hit.id},
          {"uid", hit.uid},
          {"kind", hit.kind},
          {"content", hit.content},
          {"ts_ms", hit.ts_ms},
          {"score", hit.score},
          {"text_rank", hit.text_rank},
          {"vector_rank", hit.vector_rank},
          {"bm25", hit.bm25},
          {"cosine", hit.cosine},
          {"recency", hit.recency},
          {"importance", hit.importance},
          {"phase", memory::PhaseName(hit.phase)},
          {"privacy", memory::PrivacyName(hit.privacy)},
          {"provenance",
           {{"source_type", hit.provenance.source_type},
            {"source_id", hit.provenance.source_id},
            {"derived_from", hit.provenance.derived_from},
            {"confidence", hit.provenance.confidence},
            {"created_at_ms", hit.provenance.created_at_ms}}}};
}

}  // namespace

void RegisterMemoryCommand(CLI::App& app, CliContext& context) {
  auto* memory = app.add_subcommand("memory", "Add to, search, export and forget agent memory");
  memory->require_subcommand(1);
  auto agent = std::make_shared<std::string>("default");
  memory->add_option("--agent", *agent, "Agent id (default: default)");

  auto* add = memory->add_subcommand("add", "Append one episodic event");
  auto text = std::make_shared<std::string>();
  auto kind = std::make_shared<std::string>("user");
  auto importance = std::make_shared<double>(0.5);
  add->add_option("TEXT", *text, "The event's content")->required();
  add->add_option("--kind", *kind, "Kind or role (default: user)");
  add->add_option("--importance", *importance, "Importance in [0,1] (default: 0.5)");
  add->callback([&context, agent, text, kind, importance] {
    std::unique_ptr<memory::MemoryStore> store = OpenStoreOrReport(context);
    if (!store) return;
    memory::EventInput event;
    event.content = *text;
    event.kind = *kind;
    event.importance = *importance;
    event.provenance.source_type = "cli";
    absl::StatusOr<int64_t> id = store->AppendEvent(*agent, event);
    if (!id.ok()) return ReportError(context, id.status(), UsageOr(id.status()));
    absl::StatusOr<memory::Event> stored = store->GetEvent(*agent, *id);
    if (!stored.ok()) return ReportError(context, stored.status());
    if (context.json) {
      std::cout << nlohmann::json{{"id", stored->id},
                                  {"uid", stored->uid},
                                  {"agent", stored->agent_id},
                                  {"surprise", stored->surprise}}
                       .dump()
                << "\n";
    } else {
      std::cout << "added event " << stored->id << " (surprise " << std::setprecision(3)
                << stored->surprise << ")\n";
    }
  });

  auto* search = memory->add_subcommand("search", "Hybrid recall: BM25 + vectors + recency");
  auto query_text = std::make_shared<std::string>();
  auto k = std::make_shared<int>(10);
  auto mode = std::make_shared<std::string>("hybrid");
  search->add_option("QUERY", *query_text, "What to look for, in natural language")->required();
  search->add_option("--k", *k, "Number of results (default: 10)");
  search->add_option("--mode", *mode, "hybrid, text or vector (default: hybrid)")
      ->check(CLI::IsMember({"hybrid", "text", "vector"}));
  search->callback([&context, agent, query_text, k, mode] {
    std::unique_ptr<memory::MemoryStore> store = OpenStoreOrReport(context);
    if (!store) return;
    memory::RecallQuery query;
    query.agent_id = *agent;
    query.text = *query_text;
    query.k = *k;
    query.mode = *mode == "text"     ? memory::RecallQuery::Mode::kText
                 : *mode == "vector" ? memory::RecallQuery::Mode::kVector
                                     : memory::RecallQuery::Mode::kHybrid;
    absl::StatusOr<std::vector<memory::RecallHit>> hits = store->Recall(query);
    if (!hits.ok()) return ReportError(context, hits.status(), UsageOr(hits.status()));
    if (context.json) {
      nlohmann::json out = nlohmann::json::array();
      for (const memory::RecallHit& hit : *hits) out.push_back(HitJson(hit));
      std::cout << out.dump(2) << "\n";
      return;
    }
    if (hits->empty()) std::cout << "no memories match\n";
    for (const memory::RecallHit& hit : *hits) {
      std::cout << std::fixed << std::setprecision(4) << hit.score << "  "
                << memory::LayerName(hit.layer) << ":" << hit.id << "  " << hit.content << "\n";
    }
  });

  auto* stats = memory->add_subcommand("stats", "Record counts per agent and the database size");
  stats->callback([&context] {
    std::unique_ptr<memory::MemoryStore> store = OpenStoreOrReport(context);
    if (!store) return;
    absl::StatusOr<memory::StoreStats> result = store->Stats();
    if (!result.ok()) return ReportError(context, result.status());
    nlohmann::json agents = nlohmann::json::array();
    for (const memory::AgentStats& a : result->agents) {
      agents.push_back({{"agent", a.agent_id},
                        {"events", a.events},
                        {"unconsolidated_events", a.unconsolidated_events},
                        {"entries", a.entries},
                        {"pages", a.pages},
                        {"edges", a.edges},
                        {"artifacts", a.artifacts}});
    }
    if (context.json) {
      std::cout << nlohmann::json{{"database", store->path()},
                                  {"database_bytes", result->database_bytes},
                                  {"schema_version", result->schema_version},
                                  {"embedder", result->embedder_tag},
                                  {"agents", agents}}
                       .dump(2)
                << "\n";
      return;
    }
    std::cout << store->path() << ": " << result->database_bytes << " bytes, schema "
              << result->schema_version << ", embedder " << result->embedder_tag << "\n";
    std::cout << std::left << std::setw(24) << "agent" << std::right << std::setw(10) << "events"
              << std::setw(10) << "entries" << std::setw(8) << "pages" << std::setw(8) << "edges"
              << std::setw(10) << "artifacts"
              << "\n";
    for (const memory::AgentStats& a : result->agents) {
      std::cout << std::left << std::setw(24) << a.agent_id << std::right << std::setw(10)
                << a.events << std::setw(10) << a.entries << std::setw(8) << a.pages << std::setw(8)
                << a.edges << std::setw(10) << a.artifacts << "\n";
    }
  });

  auto* export_command = memory->add_subcommand("export", "Write the agent's memory as JSON Lines");
  auto out_path = std::make_shared<std::string>("-");
  export_command->add_option("--out", *out_path, "Output file (default: - for stdout)");
  export_command->callback([&context, agent, out_path] {
    std::unique_ptr<memory::MemoryStore> store = OpenStoreOrReport(context);
    if (!store) return;
    std::ofstream file;
    if (*out_path != "-") {
      file.open(*out_path, std::ios::binary | std::ios::trunc);
      if (!file) {
        return ReportError(context,
                           absl::UnavailableError(absl::StrCat("cannot write ", *out_path)));
      }
    }
    absl::StatusOr<int64_t> lines = store->Export(*agent, *out_path == "-" ? std::cout : file);
    if (!lines.ok()) return ReportError(context, lines.status(), UsageOr(lines.status()));
    if (*out_path != "-") {
      std::cerr << "exported " << *lines << " lines to " << *out_path << "\n";
    }
  });

  auto* import_command = memory->add_subcommand(
      "import", "Read JSON Lines written by `memory export` into --agent (all or nothing)");
  auto in_path = std::make_shared<std::string>();
  import_command->add_option("FILE", *in_path, "File to read, - for stdin")->required();
  import_command->callback([&context, agent, in_path] {
    std::unique_ptr<memory::MemoryStore> store = OpenStoreOrReport(context);
    if (!store) return;
    std::ifstream file;
    if (*in_path != "-") {
      file.open(*in_path, std::ios::binary);
      if (!file) {
        return ReportError(context, absl::NotFoundError(absl::StrCat("cannot read ", *in_path)));
      }
    }
    absl::StatusOr<memory::ImportReport> report =
        store->Import(*agent, *in_path == "-" ? std::cin : file);
    if (!report.ok()) return ReportError(context, report.status(), UsageOr(report.status()));
    nlohmann::json out = {{"events", report->events},       {"entries", report->entries},
                          {"pages", report->pages},         {"edges", report->edges},
                          {"artifacts", report->artifacts}, {"skipped", report->skipped}};
    if (context.json) {
      std::cout << out.dump() << "\n";
    } else {
      std::cout << "imported " << report->events << " events, " << report->entries << " entries, "
                << report->pages << " pages, " << report->edges << " edges, " << report->artifacts
                << " artifacts; skipped " << report->skipped << " already present\n";
    }
  });

  auto* forget = memory->add_subcommand(
      "forget", "Erase records so their text is gone from the files (--id N, or --all)");
  auto id = std::make_shared<int64_t>(0);
  auto layer = std::make_shared<std::string>("episodic");
  auto all = std::make_shared<bool>(false);
  forget->add_option("--id", *id, "Record id to erase");
  forget->add_option("--layer", *layer,
                     "Layer of --id: episodic, semantic, structural, parameter (default: "
                     "episodic)");
  forget->add_flag("--all", *all, "Erase every record of --agent");
  forget->callback([&context, agent, id, layer, all] {
    if (*all == (*id != 0)) {
      return ReportError(
          context, absl::InvalidArgumentError("give exactly one of --id N and --all"), kExitUsage);
    }
    absl::StatusOr<memory::Layer> parsed = memory::ParseLayer(*layer);
    if (!parsed.ok()) return ReportError(context, parsed.status(), kExitUsage);
    std::unique_ptr<memory::MemoryStore> store = OpenStoreOrReport(context);
    if (!store) return;
    int64_t erased = 1;
    if (*all) {
      absl::StatusOr<int64_t> count = store->ForgetAgent(*agent);
      if (!count.ok()) return ReportError(context, count.status(), UsageOr(count.status()));
      erased = *count;
    } else if (absl::Status s = store->Forget(*agent, *parsed, *id); !s.ok()) {
      return ReportError(context, s, UsageOr(s));
    }
    if (context.json) {
      std::cout << nlohmann::json{{"erased", erased}}.dump() << "\n";
    } else {
      std::cout << "erased " << erased << " record(s) of agent " << *agent << "\n";
    }
  });

  auto* backup = memory->add_subcommand(
      "backup", "Copy the database to DEST while other processes keep using it");
  auto destination = std::make_shared<std::string>();
  backup->add_option("DEST", *destination, "Backup file to write")->required();
  auto force = std::make_shared<bool>(false);
  backup->add_flag("--force", *force, "Replace DEST if it exists");
  backup->callback([&context, destination, force] {
    std::unique_ptr<memory::MemoryStore> store = OpenStoreOrReport(context);
    if (!store) return;
    if (absl::Status s = store->Backup(*destination, *force); !s.ok()) {
      if (absl::IsAlreadyExists(s)) {
        return ReportError(context,
                           absl::AlreadyExistsError(absl::StrCat(
                               *destination, " already exists; pass --force to replace it")));
      }
      return ReportError(context, s);
    }
    if (context.json) {
      std::cout << nlohmann::json{{"backup", *destination}}.dump() << "\n";
    } else {
      std::cout << "backed up " << store->path() << " to " << *destination << "\n";
    }
  });
}

}  // namespace llive::cli
