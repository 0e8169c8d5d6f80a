// bench/memory_bench: the memory store at scale (appends, FTS, vector and hybrid recall at a
// million events) and retrieval quality on the labelled question set. Prints tables; results
// go to docs/benchmarks.md. Flags: --events N --agents N --dim N --queries N --nprobe N
// --dir DIR --qa FILE --skip-scale --skip-qa --reuse (query the database of an earlier run)
// --skip-sweep (no IVF probe sweep) --text-only (FTS queries only: no vector index, no reference).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/memory_text.h"
#include "memory/hashing_embedder.h"
#include "memory/memory_store.h"
#include "memory/vector_index.h"
#include "nlohmann/json.hpp"

namespace llive::bench {
namespace {

using Clock = std::chrono::steady_clock;
using memory::RecallQuery;

double Ms(Clock::time_point from) {
  return std::chrono::duration<double, std::milli>(Clock::now() - from).count();
}

struct Flags {
  int64_t events = 1000000;
  int agents = 4;
  int dim = 512;
  int queries = 200;
  int nprobe = memory::VectorIndexOptions().ivf_nprobe;
  std::string dir = "/tmp/llive-memory-bench";
  std::string qa = std::string(LLIVE_SOURCE_DIR) + "/bench/data/memory_qa.jsonl";
  bool scale = true;
  bool qa_enabled = true;
  bool reuse = false;  // query the database an earlier run left in --dir, append nothing
  bool sweep = true;
  bool text_only = false;
};

// CPU time of this process (all threads) in ms: beside wall time, what the machine's load
// changes much less.
double CpuMs() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

void Die(const absl::Status& status) {
  std::cerr << "memory_bench: " << status << "\n";
  std::exit(1);
}

std::unique_ptr<memory::MemoryStore> OpenFresh(const std::string& dir, int dim, int nprobe,
                                               bool reuse = false) {
  if (!reuse) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  memory::StoreOptions options;
  options.database_path = dir + "/memory.db";
  options.index_dir = dir + "/indexes";
  options.embedder = std::make_shared<memory::HashingEmbedder>(dim);
  options.vector_index.ivf_nprobe = nprobe;
  absl::StatusOr<std::unique_ptr<memory::MemoryStore>> store = memory::MemoryStore::Open(options);
  if (!store.ok()) Die(store.status());
  return *std::move(store);
}

// CPU time of the calling thread in ms.
double ThreadCpuMs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

// `append_cpu_ms`: the calling thread's CPU time inside AppendEvents, the writing thread's
// share (the rest of the process's CPU time is mostly the batches' helper threads): on an idle
// machine the append rate is bounded by the busier of the two.
void PrintAppendRate(int64_t appended, int batch, double seconds, std::clock_t cpu_start,
                     double append_cpu_ms) {
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  std::printf(
      "appended %lld events in batches of %d in %.1f s: %.0f events/s wall, %.0f events per "
      "CPU-second of this process (FTS5 and vectors written in each batch's transaction)\n"
      "CPU per event: %.1f us in AppendEvents on the calling (writing) thread, %.1f us in "
      "the whole process\n",
      static_cast<long long>(appended), batch, seconds, appended / seconds, appended / cpu_seconds,
      append_cpu_ms * 1e3 / static_cast<double>(appended), cpu_seconds * 1e6 / appended);
}

// recall@10 and search time of an IVF index over agent 0's vectors (built as the store
// builds it) against exact search, for several probe counts: what ivf_nprobe trades.
void ProbeSweep(const Flags& flags, const memory::Embedder& embedder,
                const std::vector<int64_t>& ids, const std::vector<float>& vectors,
                const memory::VectorIndex& exact) {
  memory::VectorIndexOptions options;
  options.dim = flags.dim;
  if (static_cast<int64_t>(ids.size()) <= options.ivf_threshold) return;
  const auto build_start = Clock::now();
  absl::StatusOr<std::unique_ptr<memory::VectorIndex>> ivf =
      memory::VectorIndex::Build(options, ids, vectors);
  if (!ivf.ok()) Die(ivf.status());
  const double build_s = Ms(build_start) / 1000;
  const std::string file = flags.dir + "/probe-sweep.faiss";
  if (absl::Status s = (*ivf)->Save(file); !s.ok()) Die(s);
  ivf->reset();
  std::printf("\nIVF over agent-0's %zu vectors (built in %.1f s), %d questions, k=10\n",
              ids.size(), build_s, flags.queries);
  std::printf("%-8s %10s %10s %10s\n", "nprobe", "recall@10", "p50 ms", "p95 ms");
  for (int nprobe : {16, 32, 64, 96, 128, 256}) {
    options.ivf_nprobe = nprobe;
    absl::StatusOr<std::unique_ptr<memory::VectorIndex>> loaded =
        memory::VectorIndex::Load(file, options);
    if (!loaded.ok()) Die(loaded.status());
    MemoryText held_out(777);
    std::vector<double> times;
    double recall = 0;
    for (int q = 0; q < flags.queries; ++q) {
      const std::vector<float> v = *embedder.Embed(held_out.QuestionAbout(held_out.Event(0.0)));
      std::set<int64_t> truth;
      for (const auto& [id, score] : exact.Search(v, 10)) truth.insert(id);
      const auto t = Clock::now();
      const std::vector<std::pair<int64_t, float>> hits = (*loaded)->Search(v, 10);
      times.push_back(Ms(t));
      int found = 0;
      for (const auto& [id, score] : hits) found += truth.count(id) ? 1 : 0;
      recall += truth.empty() ? 1.0 : static_cast<double>(found) / truth.size();
    }
    std::printf("%-8d %10.3f %10.2f %10.2f\n", nprobe, recall / std::max(flags.queries, 1),
                Percentile(times, 0.5), Percentile(times, 0.95));
  }
  std::filesystem::remove(file);
}

// FTS queries alone, as in Scale's query pass (for the text search without vector indexes).
void TextQueries(const Flags& flags, memory::MemoryStore& store) {
  MemoryText held_out(777);
  std::vector<double> fts_ms;
  for (int q = 0; q < flags.queries; ++q) {
    RecallQuery query;
    query.agent_id = "agent-0";
    query.text = held_out.QuestionAbout(held_out.Event(0.0));
    query.k = 10;
    query.touch = false;
    query.layers = {memory::Layer::kEpisodic};
    query.mode = RecallQuery::Mode::kText;
    const auto t = Clock::now();
    if (absl::Status s = store.Recall(query).status(); !s.ok()) Die(s);
    fts_ms.push_back(Ms(t));
  }
  std::printf("\n%-34s %10s %10s\n", "query (agent-0, k=10)", "p50 ms", "p95 ms");
  std::printf("%-34s %10.2f %10.2f\n", "FTS5 BM25 (text only)", Percentile(fts_ms, 0.5),
              Percentile(fts_ms, 0.95));
}

void Scale(const Flags& flags) {
  std::unique_ptr<memory::MemoryStore> store =
      OpenFresh(flags.dir + "/scale", flags.dim, flags.nprobe, flags.reuse);
  const memory::Embedder& embedder = store->embedder();
  MemoryText text(20260101);
  constexpr int kBatch = 1000;
  // Agent 0's vectors, for exact search.
  std::vector<int64_t> ids0;
  std::vector<float> vectors0;
  std::vector<std::string> contents0;  // while appending; embedded after the timing
  const auto start = Clock::now();
  const std::clock_t cpu_start = std::clock();
  auto window = Clock::now();
  int64_t appended = 0;
  double append_cpu_ms = 0;  // the calling thread's, inside AppendEvents
  double window_append_cpu_ms = 0;
  double window_cpu_ms = CpuMs();
  if (flags.reuse && !flags.text_only) {
    // Agent 0's vectors for the exact reference, embedded again from the stored text.
    for (int64_t from = 0;;) {
      absl::StatusOr<std::vector<memory::Event>> events =
          store->EventsByIdRange("agent-0", from, std::numeric_limits<int64_t>::max(), 10000);
      if (!events.ok()) Die(events.status());
      if (events->empty()) break;
      for (const memory::Event& event : *events) {
        ids0.push_back(event.id);
        std::vector<float> v = *embedder.Embed(event.content);
        vectors0.insert(vectors0.end(), v.begin(), v.end());
      }
      from = events->back().id + 1;
    }
  }
  if (flags.reuse) {
    appended = flags.events;
    std::printf("reusing %s: %zu events of agent-0\n", flags.dir.c_str(), ids0.size());
  } else {
    // CPU columns: microseconds per event in the window, of the writing thread inside
    // AppendEvents and of the whole process.
    std::printf("%-12s %14s %14s %14s %14s\n", "events", "window ev/s", "overall ev/s",
                "writer us/ev", "process us/ev");
  }
  for (int64_t batch = 0; appended < flags.events; ++batch) {
    const std::string agent = absl::StrCat("agent-", batch % flags.agents);
    std::vector<memory::EventInput> events(kBatch);
    for (memory::EventInput& event : events) {
      event.kind = "user";
      event.content = text.Event();
    }
    const double cpu_before = ThreadCpuMs();
    absl::StatusOr<std::vector<int64_t>> ids = store->AppendEvents(agent, events);
    append_cpu_ms += ThreadCpuMs() - cpu_before;
    if (!ids.ok()) Die(ids.status());
    if (batch % flags.agents == 0) {
      for (int i = 0; i < kBatch; ++i) {
        ids0.push_back((*ids)[i]);
        contents0.push_back(std::move(events[i].content));
      }
    }
    appended += kBatch;
    if (appended % 100000 == 0) {
      std::printf("%-12lld %14.0f %14.0f %14.1f %14.1f\n", static_cast<long long>(appended),
                  100000 / (Ms(window) / 1000), appended / (Ms(start) / 1000),
                  (append_cpu_ms - window_append_cpu_ms) * 1e3 / 100000,
                  (CpuMs() - window_cpu_ms) * 1e3 / 100000);
      std::fflush(stdout);
      window = Clock::now();
      window_append_cpu_ms = append_cpu_ms;
      window_cpu_ms = CpuMs();
    }
  }
  if (!flags.reuse) {
    PrintAppendRate(appended, kBatch, Ms(start) / 1000, cpu_start, append_cpu_ms);
  }
  // Agent 0's vectors for the exact reference, embedded after the timed appends (the
  // reference is the benchmark's work, not the store's).
  if (!flags.text_only) {
    for (const std::string& content : contents0) {
      std::vector<float> v = *embedder.Embed(content);
      vectors0.insert(vectors0.end(), v.begin(), v.end());
    }
  }
  contents0.clear();
  if (flags.text_only) {
    TextQueries(flags, *store);
    return;
  }

  // Vector indexes: the first search starts the build in the background (exact scan meanwhile).
  const auto build_start = Clock::now();
  for (int a = 0; a < flags.agents; ++a) {
    RecallQuery query;
    query.agent_id = absl::StrCat("agent-", a);
    query.text = "warm up";
    query.mode = RecallQuery::Mode::kVector;
    query.touch = false;
    if (absl::Status s = store->Recall(query).status(); !s.ok()) Die(s);
  }
  const double first_search_ms = Ms(build_start);
  store->WaitForIndexes();
  std::printf(
      "first vector searches (exact scan while indexes build): %.0f ms; background "
      "index build done after %.1f s\n",
      first_search_ms, Ms(build_start) / 1000);

  // The reference: an exact index over agent 0's vectors (no IVF at any size).
  memory::VectorIndexOptions exact_options;
  exact_options.dim = flags.dim;
  exact_options.ivf_threshold = std::numeric_limits<int64_t>::max();
  absl::StatusOr<std::unique_ptr<memory::VectorIndex>> exact =
      memory::VectorIndex::Build(exact_options, ids0, vectors0);
  if (!exact.ok()) Die(exact.status());
  MemoryText held_out(777);  // other seed: questions about text that was never stored
  std::vector<double> fts_ms, vector_ms, hybrid_ms, fts_cpu, vector_cpu, hybrid_cpu;
  double recall_sum = 0;
  int recall_count = 0;
  for (int q = 0; q < flags.queries; ++q) {
    RecallQuery query;
    query.agent_id = "agent-0";
    query.text = held_out.QuestionAbout(held_out.Event(0.0));
    query.k = 10;
    query.touch = false;
    query.layers = {memory::Layer::kEpisodic};

    query.mode = RecallQuery::Mode::kText;
    auto t = Clock::now();
    double cpu = CpuMs();
    if (absl::Status s = store->Recall(query).status(); !s.ok()) Die(s);
    fts_ms.push_back(Ms(t));
    fts_cpu.push_back(CpuMs() - cpu);

    query.mode = RecallQuery::Mode::kVector;
    t = Clock::now();
    cpu = CpuMs();
    absl::StatusOr<std::vector<memory::RecallHit>> hits = store->Recall(query);
    vector_ms.push_back(Ms(t));
    vector_cpu.push_back(CpuMs() - cpu);
    if (!hits.ok()) Die(hits.status());
    std::set<int64_t> truth;
    for (const auto& [id, score] : (*exact)->Search(*embedder.Embed(query.text), 10)) {
      truth.insert(id);
    }
    int found = 0;
    for (const memory::RecallHit& hit : *hits) found += truth.count(hit.id) ? 1 : 0;
    recall_sum += truth.empty() ? 1.0 : static_cast<double>(found) / truth.size();
    ++recall_count;

    query.mode = RecallQuery::Mode::kHybrid;
    query.layers = {memory::Layer::kEpisodic, memory::Layer::kSemantic};
    query.touch = true;
    t = Clock::now();
    cpu = CpuMs();
    if (absl::Status s = store->Recall(query).status(); !s.ok()) Die(s);
    hybrid_ms.push_back(Ms(t));
    hybrid_cpu.push_back(CpuMs() - cpu);
  }
  std::printf("\n%-34s %10s %10s %12s %12s\n", "query (agent-0, k=10)", "p50 ms", "p95 ms",
              "p50 CPU ms", "p95 CPU ms");
  auto row = [](const char* name, const std::vector<double>& wall, const std::vector<double>& cpu) {
    std::printf("%-34s %10.2f %10.2f %12.2f %12.2f\n", name, Percentile(wall, 0.5),
                Percentile(wall, 0.95), Percentile(cpu, 0.5), Percentile(cpu, 0.95));
  };
  row("FTS5 BM25 (text only)", fts_ms, fts_cpu);
  row("vector (FAISS)", vector_ms, vector_cpu);
  row("hybrid (both layers, touch)", hybrid_ms, hybrid_cpu);
  std::printf("vector recall@10 against exact search over agent-0's %zu events: %.3f\n",
              ids0.size(), recall_sum / std::max(recall_count, 1));
  if (flags.sweep) ProbeSweep(flags, embedder, ids0, vectors0, **exact);
  absl::StatusOr<memory::StoreStats> stats = store->Stats();
  if (stats.ok()) {
    int64_t entries = 0;
    for (const auto& a : stats->agents) entries += a.entries;
    std::printf("database %.2f GB, %lld semantic entries promoted by the surprise gates\n",
                stats->database_bytes / 1e9, static_cast<long long>(entries));
  }
}

void Quality(const Flags& flags) {
  std::ifstream file(flags.qa);
  if (!file) Die(absl::NotFoundError(absl::StrCat("cannot read ", flags.qa)));
  struct Question {
    std::string lang, text;
    std::vector<std::string> answers;
  };
  std::map<std::string, std::vector<std::pair<std::string, std::string>>>
      turns;  // lang -> (id, text)
  std::vector<Question> questions;
  for (std::string line; std::getline(file, line);) {
    if (line.empty()) continue;
    nlohmann::json json = nlohmann::json::parse(line);
    if (json["type"] == "turn") {
      turns[json["lang"]].emplace_back(json["id"], json["text"]);
    } else if (json["type"] == "question") {
      questions.push_back({json["lang"], json["question"], json["answers"]});
    }
  }
  std::unique_ptr<memory::MemoryStore> store =
      OpenFresh(flags.dir + "/qa", flags.dim, flags.nprobe);
  std::map<std::string, int64_t> event_of;
  for (const auto& [lang, list] : turns) {
    std::vector<memory::EventInput> events;
    for (const auto& [id, content] : list) {
      memory::EventInput event;
      event.content = content;
      events.push_back(event);
    }
    absl::StatusOr<std::vector<int64_t>> ids = store->AppendEvents("qa-" + lang, events);
    if (!ids.ok()) Die(ids.status());
    for (size_t i = 0; i < list.size(); ++i) event_of[list[i].first] = (*ids)[i];
  }
  const std::pair<const char*, RecallQuery::Mode> modes[] = {
      {"BM25", RecallQuery::Mode::kText},
      {"vectors", RecallQuery::Mode::kVector},
      {"hybrid (RRF)", RecallQuery::Mode::kHybrid}};
  std::printf("\nretrieval quality: %zu questions, %zu turns (%s)\n", questions.size(),
              event_of.size(), flags.qa.c_str());
  std::printf("%-14s %-6s %10s %10s\n", "method", "lang", "recall@5", "recall@10");
  for (const auto& [name, mode] : modes) {
    std::map<std::string, std::pair<double, double>> sums;
    std::map<std::string, int> counts;
    for (const Question& question : questions) {
      RecallQuery query;
      query.agent_id = "qa-" + question.lang;
      query.text = question.text;
      query.k = 10;
      query.mode = mode;
      query.touch = false;
      query.layers = {memory::Layer::kEpisodic};
      absl::StatusOr<std::vector<memory::RecallHit>> hits = store->Recall(query);
      if (!hits.ok()) Die(hits.status());
      std::set<int64_t> answers;
      for (const std::string& id : question.answers) answers.insert(event_of.at(id));
      int at5 = 0, at10 = 0;
      for (size_t i = 0; i < hits->size(); ++i) {
        if (!answers.count((*hits)[i].id)) continue;
        at10 += 1;
        at5 += i < 5 ? 1 : 0;
      }
      for (const std::string& lang : {question.lang, std::string("all")}) {
        sums[lang].first += static_cast<double>(at5) / answers.size();
        sums[lang].second += static_cast<double>(at10) / answers.size();
        counts[lang] += 1;
      }
    }
    for (const auto& [lang, sum] : sums) {
      std::printf("%-14s %-6s %10.3f %10.3f\n", name, lang.c_str(), sum.first / counts[lang],
                  sum.second / counts[lang]);
    }
  }
}

}  // namespace
}  // namespace llive::bench

int main(int argc, char** argv) {
  llive::bench::Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--events")
      flags.events = std::stoll(value());
    else if (arg == "--agents")
      flags.agents = std::stoi(value());
    else if (arg == "--dim")
      flags.dim = std::stoi(value());
    else if (arg == "--queries")
      flags.queries = std::stoi(value());
    else if (arg == "--nprobe")
      flags.nprobe = std::stoi(value());
    else if (arg == "--dir")
      flags.dir = value();
    else if (arg == "--qa")
      flags.qa = value();
    else if (arg == "--skip-scale")
      flags.scale = false;
    else if (arg == "--skip-qa")
      flags.qa_enabled = false;
    else if (arg == "--reuse")
      flags.reuse = true;
    else if (arg == "--skip-sweep")
      flags.sweep = false;
    else if (arg == "--text-only")
      flags.text_only = true;
    else {
      std::cerr
          << "memory_bench: unknown flag " << arg
          << "; flags: --events N --agents N --dim N --queries N --nprobe N --dir DIR --qa FILE "
             "--skip-scale --skip-qa --reuse --skip-sweep --text-only\n";
      return 2;
    }
  }
  if (flags.qa_enabled) llive::bench::Quality(flags);
  if (flags.scale) llive::bench::Scale(flags);
  return 0;
}
