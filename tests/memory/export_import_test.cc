// Tests of JSON Lines export/import and online backup.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "memory/statement.h"
#include "tests/memory/store_test_util.h"

namespace llive::memory {
namespace {

using ::testing::HasSubstr;

void Populate(MemoryStore& store) {
  EventInput event = Message("日本語のメモ: 明日は雨 ☔", 1234);
  event.provenance.source_type = "user";
  event.provenance.signed_by = "key-1";
  event.provenance.signature = std::string("\x01\x02\xff", 3);
  event.metadata = R"({"session": 7})";
  absl::StatusOr<std::vector<int64_t>> ids =
      store.AppendEvents("a", {event, Message("an English note", 1235)});
  ASSERT_TRUE(ids.ok());
  ASSERT_TRUE(store.SetEventFactors("a", (*ids)[0], std::vector<float>{0.1f, 0.9f}).ok());
  SemanticEntryInput entry;
  entry.content = "a distilled fact";
  ASSERT_TRUE(store.AddEntry("a", entry).ok());
  PageInput page = Titled("Weather", {(*ids)[0]});
  page.summary = "rain tomorrow";
  absl::StatusOr<int64_t> p1 = store.UpsertPage("a", page);
  absl::StatusOr<int64_t> p2 = store.UpsertPage("a", Titled("Umbrella"));
  ASSERT_TRUE(store.SetEdge("a", *p1, *p2, EdgeType::kCoOccursWith, 0.75).ok());
  ArtifactInput artifact;
  artifact.kind = "bridge_params";
  artifact.name = "default";
  artifact.bytes = std::string("\x00\x10\x20", 3);
  ASSERT_TRUE(store.PutArtifact("a", artifact).ok());
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    // Entries carry their import time; everything else must be identical.
    if (line.find("\"type\":\"entry\"") == std::string::npos) lines.push_back(line);
  }
  return lines;
}

TEST(ExportImportTest, RoundTripReproducesTheExport) {
  testing::TempDir source_dir, target_dir;
  std::unique_ptr<MemoryStore> source = OpenOrDie(TestOptions(source_dir));
  Populate(*source);
  std::ostringstream first;
  absl::StatusOr<int64_t> lines = source->Export("a", first);
  ASSERT_TRUE(lines.ok()) << lines.status();
  EXPECT_EQ(*lines, 1 + 2 + 3 + 2 + 1 + 1);  // header, events, entries, pages, edge, artifact

  std::unique_ptr<MemoryStore> target = OpenOrDie(TestOptions(target_dir));
  std::istringstream in(first.str());
  absl::StatusOr<ImportReport> report = target->Import("a", in);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->events, 2);
  EXPECT_EQ(report->entries, 3);
  EXPECT_EQ(report->pages, 2);
  EXPECT_EQ(report->edges, 1);
  EXPECT_EQ(report->artifacts, 1);
  std::ostringstream second;
  ASSERT_TRUE(target->Export("a", second).ok());
  EXPECT_EQ(Lines(second.str()), Lines(first.str()));
  // The imported memory is searchable and its artifact verifies.
  EXPECT_EQ(target->Recall(Query("a", "明日は雨"))->front().content, "日本語のメモ: 明日は雨 ☔");
  EXPECT_EQ(target->LatestArtifact("a", "bridge_params", "default")->bytes,
            std::string("\x00\x10\x20", 3));
  // Importing again skips what is there.
  std::istringstream again(first.str());
  EXPECT_EQ(target->Import("a", again)->skipped, 9);  // every record, the edge included
}

TEST(ExportImportTest, BadLinesAreRefusedWithTheLineNumberAndNothingIsImported) {
  testing::TempDir source_dir, target_dir;
  std::unique_ptr<MemoryStore> source = OpenOrDie(TestOptions(source_dir));
  Populate(*source);
  std::ostringstream out;
  ASSERT_TRUE(source->Export("a", out).ok());
  std::unique_ptr<MemoryStore> target = OpenOrDie(TestOptions(target_dir));
  std::istringstream broken(out.str() + "{not json\n");
  absl::StatusOr<ImportReport> report = target->Import("a", broken);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("line 11"));
  EXPECT_TRUE(target->Stats()->agents.empty());
  std::string tampered = out.str();
  const size_t at = tampered.find("\"bytes_base64\":\"");
  ASSERT_NE(at, std::string::npos);
  tampered[at + 16] = tampered[at + 16] == 'A' ? 'B' : 'A';
  std::istringstream bad_artifact(tampered);
  EXPECT_EQ(target->Import("a", bad_artifact).status().code(), absl::StatusCode::kDataLoss);
  std::istringstream no_header("{\"type\":\"event\"}\n");
  EXPECT_EQ(target->Import("a", no_header).status().code(), absl::StatusCode::kInvalidArgument);
}

// Every field the writer reads must have the type it expects; a wrong one is a refusal naming
// the line and the field, never an exception (found by fuzz_memory_import).
TEST(ExportImportTest, MistypedFieldsAreRefusedNamingTheField) {
  testing::TempDir source_dir, target_dir;
  std::unique_ptr<MemoryStore> source = OpenOrDie(TestOptions(source_dir));
  Populate(*source);
  std::ostringstream out;
  ASSERT_TRUE(source->Export("a", out).ok());
  std::unique_ptr<MemoryStore> target = OpenOrDie(TestOptions(target_dir));
  const std::string good = out.str();
  struct Case {
    std::string from, to, field;
  };
  const std::vector<Case> cases = {
      {"\"version\":1", "\"version\":\"1\"", "header"},
      {"\"ts_ms\":1234", "\"ts_ms\":\"1234\"", "ts_ms"},
      {"\"ts_ms\":1234", "\"ts_ms\":12.5", "ts_ms"},
      {"\"access_count\":", "\"access_count\":[],\"x\":", "access_count"},
      {"\"summary\":\"rain tomorrow\"", "\"summary\":7", "summary"},
      {"\"format_version\":", "\"format_version\":{},\"y\":", "format_version"},
      // Read by the write pass of edges and artifacts too (an exception escaped there).
      {"\"edge_type\":", "\"uid\":5,\"edge_type\":", "uid"},
      {"\"type\":\"artifact\",\"uid\":", "\"type\":\"artifact\",\"uid\":[],\"x\":", "uid"},
      // A float cast to int64_t beyond its range is undefined behaviour (UBSan aborts).
      {"\"created_at_ms\":", "\"created_at_ms\":1e300,\"z\":", "created_at_ms"},
  };
  for (const Case& c : cases) {
    std::string text = good;
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    std::istringstream in(text);
    absl::StatusOr<ImportReport> report = target->Import("a", in);
    ASSERT_FALSE(report.ok()) << c.to;
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument) << c.to;
    EXPECT_THAT(report.status().message(), HasSubstr(c.field)) << c.to;
    EXPECT_TRUE(target->Stats()->agents.empty()) << c.to;
  }
}

TEST(BackupTest, OnlineBackupIsAConsistentDatabase) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  Populate(*store);
  ASSERT_TRUE(store->Backup(dir.File("backup.db")).ok());
  ASSERT_TRUE(store->AppendEvent("a", Message("after the backup")).ok());
  StoreOptions copy;
  copy.database_path = dir.File("backup.db");
  std::unique_ptr<MemoryStore> restored = OpenOrDie(copy);
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->RecentEvents("a", 10)->size(), 2u);
  EXPECT_EQ(restored->Recall(Query("a", "English note"))->front().content, "an English note");
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("backup.db"));
  absl::StatusOr<Statement> check = Statement::Prepare(**db, "PRAGMA integrity_check");
  ASSERT_TRUE(*check->Step());
  EXPECT_EQ(check->ColumnText(0), "ok");
}

TEST(BackupTest, AnExistingFileIsReplacedOnlyOnPurposeAndNeverTheStoreItself) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  Populate(*store);
  const size_t events = store->RecentEvents("a", 100)->size();
  ASSERT_TRUE(store->Backup(dir.File("backup.db")).ok());
  ASSERT_TRUE(store->AppendEvent("a", Message("after the first backup")).ok());
  absl::Status again = store->Backup(dir.File("backup.db"));
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_NE(again.message().find("already exists"), std::string::npos) << again;
  {
    StoreOptions copy;
    copy.database_path = dir.File("backup.db");
    std::unique_ptr<MemoryStore> first = OpenOrDie(copy);
    EXPECT_EQ(first->RecentEvents("a", 100)->size(), events)
        << "the refused backup changed the file";
  }
  ASSERT_TRUE(store->Backup(dir.File("backup.db"), /*overwrite=*/true).ok());
  {
    StoreOptions copy;
    copy.database_path = dir.File("backup.db");
    std::unique_ptr<MemoryStore> second = OpenOrDie(copy);
    EXPECT_EQ(second->RecentEvents("a", 100)->size(), events + 1);
  }
  absl::Status onto_itself = store->Backup(store->path(), /*overwrite=*/true);
  EXPECT_EQ(onto_itself.code(), absl::StatusCode::kInvalidArgument) << onto_itself;
}

}  // namespace
}  // namespace llive::memory
