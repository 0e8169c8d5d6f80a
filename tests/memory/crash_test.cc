// Kills a writer process (SIGKILL) at random points during batch appends, 50 times, and checks
// after each restart that the database is intact, every acknowledged batch is there, no batch
// is half-written and the FAISS caches agree with SQLite.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "memory/hashing_embedder.h"
#include "memory/statement.h"
#include "tests/memory/store_test_util.h"

namespace llive::memory {
namespace {

constexpr int kRuns = 50;
constexpr int kBatch = 20;

StoreOptions CrashOptions(const testing::TempDir& dir) {
  StoreOptions options = TestOptions(dir);
  options.embedder = std::make_shared<HashingEmbedder>(64);  // keeps each run short
  return options;
}

// LLVM's OpenMP runtime (libomp, which the clang builds link) registers each process that
// starts it in /dev/shm/__KMP_REGISTERED_LIB_<pid>_<uid> and removes the file at exit. A child
// killed with SIGKILL leaves it behind, and a later process that gets the same pid (and, in
// the sanitizer build, the same library address) takes it for a second OpenMP runtime and
// aborts ("OMP: Error #15", CI 2026-12-03 18:33). So the killed child's file goes with it.
void ForgetOpenMpRegistration(pid_t child) {
  unlink(absl::StrCat("/dev/shm/__KMP_REGISTERED_LIB_", child, "_", getuid()).c_str());
}

// The child: appends batches until killed, writing each batch number to `ack_fd` once
// AppendEvents has returned (the write is acknowledged).
[[noreturn]] void Writer(const testing::TempDir& dir, int run, int ack_fd) {
  absl::StatusOr<std::unique_ptr<MemoryStore>> store = MemoryStore::Open(CrashOptions(dir));
  if (!store.ok()) _exit(3);
  const char* words[] = {"river", "lamp", "orange", "県庁", "meeting", "violin", "東京", "rain"};
  for (int batch = 0;; ++batch) {
    std::vector<EventInput> events;
    for (int i = 0; i < kBatch; ++i) {
      EventInput event;
      event.content = absl::StrCat("run ", run, " batch ", batch, " item ", i, " ",
                                   words[(batch + i) % 8], " ", words[(run + i) % 8]);
      event.metadata = absl::StrCat(R"({"run":)", run, R"(,"batch":)", batch, "}");
      events.push_back(std::move(event));
    }
    if (!(*store)->AppendEvents("crash", events).ok()) _exit(4);
    const int32_t ack[2] = {run, batch};
    if (write(ack_fd, ack, sizeof(ack)) != sizeof(ack)) _exit(5);
  }
}

TEST(CrashTest, KilledWritersLoseNoAcknowledgedBatchAndLeaveNoHalfBatch) {
  testing::TempDir dir;
  std::mt19937 random(12345);
  std::set<std::pair<int, int>> acknowledged;
  int runs_with_acks = 0;
  for (int run = 0; run < kRuns; ++run) {
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(pipe_fds[0]);
      Writer(dir, run, pipe_fds[1]);
    }
    close(pipe_fds[1]);
    // Anywhere from while it opens the store to a few dozen batches in.
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 80000));
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ForgetOpenMpRegistration(child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited by itself with " << WEXITSTATUS(status);
    int32_t ack[2];
    bool any = false;
    while (read(pipe_fds[0], ack, sizeof(ack)) == sizeof(ack)) {
      acknowledged.emplace(ack[0], ack[1]);
      any = true;
    }
    close(pipe_fds[0]);
    runs_with_acks += any ? 1 : 0;

    // Restart and check.
    std::unique_ptr<MemoryStore> store = OpenOrDie(CrashOptions(dir));
    ASSERT_NE(store, nullptr) << "run " << run;
    {
      absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("memory.db"));
      ASSERT_TRUE(db.ok());
      absl::StatusOr<Statement> check = Statement::Prepare(**db, "PRAGMA integrity_check");
      ASSERT_TRUE(check.ok());
      ASSERT_TRUE(*check->Step());
      ASSERT_EQ(check->ColumnText(0), "ok") << "run " << run;
      absl::StatusOr<Statement> batches = Statement::Prepare(
          **db,
          "SELECT json_extract(metadata, '$.run'), json_extract(metadata, '$.batch'), count(*) "
          "FROM events GROUP BY 1, 2");
      ASSERT_TRUE(batches.ok());
      std::set<std::pair<int, int>> present;
      while (*batches->Step()) {
        const std::pair<int, int> key(static_cast<int>(batches->ColumnInt(0)),
                                      static_cast<int>(batches->ColumnInt(1)));
        EXPECT_EQ(batches->ColumnInt(2), kBatch)
            << "half-written batch " << key.second << " of run " << key.first;
        present.insert(key);
      }
      for (const auto& key : acknowledged) {
        ASSERT_TRUE(present.count(key))
            << "lost acknowledged batch " << key.second << " of run " << key.first;
      }
    }
    // FAISS agrees with SQLite: same number of vectors, and the newest event is found.
    absl::StatusOr<std::vector<Event>> newest = store->RecentEvents("crash", 1);
    ASSERT_TRUE(newest.ok());
    if (newest->empty()) continue;
    absl::StatusOr<int64_t> indexed = store->IndexedVectorCount("crash", Layer::kEpisodic);
    ASSERT_TRUE(indexed.ok()) << indexed.status();
    absl::StatusOr<StoreStats> stats = store->Stats();
    ASSERT_EQ(stats->agents.size(), 1u);
    EXPECT_EQ(*indexed, stats->agents[0].events) << "run " << run;
    RecallQuery query = Query("crash", newest->front().content);
    query.mode = RecallQuery::Mode::kVector;
    query.touch = false;
    // The episodic index is the one checked above. With both layers, fusion ranks each layer
    // on its own, so the best semantic entry (a weaker match) can tie with the exact event.
    query.layers = {Layer::kEpisodic};
    std::vector<RecallHit> hits = RecallOrFail(*store, query);
    ASSERT_FALSE(hits.empty());
    EXPECT_NEAR(hits.front().cosine, 1.0, 1e-4);
  }
  // The kills landed in different places: during the open, and after several batches.
  EXPECT_GT(runs_with_acks, kRuns / 4);
  EXPECT_GT(acknowledged.size(), 50u);
}

}  // namespace
}  // namespace llive::memory
