// Tests of the exemplar corpus reader and of the shipped corpus's shape (docs/bridge.md).
#include "bridge/exemplar_corpus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

namespace llive::bridge {
namespace {

TEST(ExemplarCorpusTest, ShippedCorpusHasSixtyPresentAndAbsentPerFactorAndLanguageHalves) {
  absl::StatusOr<std::vector<Exemplar>> corpus =
      LoadExemplars(LLIVE_SOURCE_DIR "/bridge/data/exemplars.jsonl");
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  EXPECT_GE(corpus->size(), 1200u);
  std::map<std::pair<int, std::string>, int> present, absent;
  std::map<std::string, int> group_sizes;
  for (const Exemplar& exemplar : *corpus) {
    ++group_sizes[exemplar.group];
    for (int f = 0; f < kFactorCount; ++f) {
      (exemplar.scores[f] >= 0.5f ? present : absent)[{f, exemplar.lang}]++;
    }
  }
  for (int f = 0; f < kFactorCount; ++f) {
    const std::pair<int, std::string> en{f, "en"}, ja{f, "ja"};
    EXPECT_GE(present[en] + present[ja], 60) << Factors()[f].id;
    EXPECT_GE(absent[en] + absent[ja], 60) << Factors()[f].id;
    EXPECT_GE(present[en], 30) << Factors()[f].id;
    EXPECT_GE(present[ja], 30) << Factors()[f].id;
  }
  // Minimal pairs: every group is one present and one absent text.
  for (const auto& [group, size] : group_sizes) EXPECT_EQ(size, 2) << group;
}

TEST(ExemplarCorpusTest, ParseErrorsNameTheLine) {
  const std::string good =
      R"({"id":"a","group":"g","lang":"en","text":"t","scores":{"structure":0.9,)"
      R"("recomposition":0,"closed_loop":0,"self_extension":0,"uncertainty":0,"exploration":0,)"
      R"("alignment":0,"provenance":0,"multi_perspective":0,"grounding":0}})";
  absl::StatusOr<std::vector<Exemplar>> one = ParseExemplars(good + "\n", "c.jsonl");
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_FLOAT_EQ((*one)[0].scores[0], 0.9f);

  absl::StatusOr<std::vector<Exemplar>> duplicate = ParseExemplars(good + "\n" + good, "c.jsonl");
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(duplicate.status().message(), ::testing::HasSubstr("c.jsonl:2"));

  std::string out_of_range = good;
  out_of_range.replace(out_of_range.find("0.9"), 3, "1.5");
  EXPECT_EQ(ParseExemplars(out_of_range, "c.jsonl").status().code(), absl::StatusCode::kDataLoss);
  std::string missing = good;
  missing.replace(missing.find("\"grounding\":0"), 13, "\"other\":0");
  absl::StatusOr<std::vector<Exemplar>> no_factor = ParseExemplars(missing, "c.jsonl");
  EXPECT_THAT(no_factor.status().message(), ::testing::HasSubstr("grounding"));
  EXPECT_EQ(ParseExemplars("[1,2]", "c.jsonl").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseExemplars("\n\n", "c.jsonl").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadExemplars("/nonexistent/corpus.jsonl").status().code(),
            absl::StatusCode::kNotFound);
}

// `llive bridge fit` without --corpus from any folder: the shipped corpus is found through the
// source tree (or an install) when the current folder has no bridge/data.
TEST(ExemplarCorpusTest, TheShippedCorpusIsFoundFromAnyFolder) {
  const std::filesystem::path here = std::filesystem::current_path();
  std::filesystem::current_path(std::filesystem::temp_directory_path());
  const std::string found = ShippedExemplarCorpus();
  std::filesystem::current_path(here);
  EXPECT_TRUE(std::filesystem::is_regular_file(found)) << found;
  absl::StatusOr<std::vector<Exemplar>> corpus = LoadExemplars(found);
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  EXPECT_GE(corpus->size(), 1200u);
}

}  // namespace
}  // namespace llive::bridge
