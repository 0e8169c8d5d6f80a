// Tests of whole-file writes.
#include "runtime/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/testing/temp_dir.h"

namespace llive::runtime {
namespace {

TEST(AtomicFileTest, WritesReplacesAndLeavesNoTemporaries) {
  testing::TempDir dir;
  std::string path = dir.File("a.json");
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomically(path, std::string(100000, 'x')).ok());
  EXPECT_EQ(*ReadFile(path), std::string(100000, 'x'));
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(AtomicFileTest, MissingFolderIsAnErrorAndNamesThePath) {
  testing::TempDir dir;
  absl::Status status = WriteFileAtomically(dir.File("no/such/dir/f"), "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("no/such/dir/f"), std::string::npos);
  EXPECT_EQ(ReadFile(dir.File("missing")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace llive::runtime
