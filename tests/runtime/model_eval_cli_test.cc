// End-to-end tests of `llive model eval` on the shipped models and on bad input files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive {
namespace {

using ::llive::testing::ProcessResult;
using ::llive::testing::RunProcess;
using ::llive::testing::TempDir;
using ::testing::HasSubstr;

ProcessResult Llive(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), LLIVE_BINARY);
  return RunProcess(
      args, {"LLIVE_LOG_LEVEL=warn", "LLIVE_HOME=" + dir.File("no-home"), "OMP_NUM_THREADS=1"});
}

std::string Text() {
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += "The package manager installs software and keeps track of its files. ";
  }
  return text;
}

TEST(ModelEvalCliTest, ScoresJsonLinesDocumentsWithTheShippedModels) {
  TempDir dir;
  {
    std::ofstream out(dir.File("held.jsonl"));
    out << nlohmann::json({{"text", Text()}}).dump() << "\n"
        << nlohmann::json({{"text", "パッケージをインストールする。" + Text()}}).dump() << "\n";
  }
  for (const char* backend : {"mamba:llive-mamba-small", "rwkv7:llive-rwkv7-small"}) {
    ProcessResult result =
        Llive(dir, {"model", "eval", "--backend", backend, "--text-file", dir.File("held.jsonl"),
                    "--window", "64", "--dump-tokens", dir.File("ids.txt"), "--json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    nlohmann::json out = nlohmann::json::parse(result.out);
    EXPECT_EQ(out["documents"], 2);
    EXPECT_EQ(out["window"], 64);
    const int64_t stream = out["stream_tokens"];
    EXPECT_EQ(out["windows"], (stream - 1) / 64);
    EXPECT_EQ(out["tokens"], out["windows"].get<int64_t>() * 64);
    // A trained model predicts English prose well below the unigram baseline (7.36 nats).
    EXPECT_GT(out["cross_entropy"].get<double>(), 0.0);
    EXPECT_LT(out["cross_entropy"].get<double>(), 6.0) << backend;
    std::ifstream ids(dir.File("ids.txt"));
    int64_t lines = 0;
    for (std::string line; std::getline(ids, line);) ++lines;
    EXPECT_EQ(lines, stream);
  }
}

TEST(ModelEvalCliTest, BadInputIsRefusedNamingTheProblem) {
  TempDir dir;
  std::ofstream(dir.File("bad.jsonl")) << "{\"text\": \"ok\"}\n{\"txt\": 1}\n";
  ProcessResult bad_line = Llive(dir, {"model", "eval", "--text-file", dir.File("bad.jsonl")});
  EXPECT_EQ(bad_line.exit_code, 1);
  EXPECT_THAT(bad_line.err, HasSubstr("line 2"));
  std::ofstream(dir.File("latin1.txt")) << "caf\xe9 au lait";
  ProcessResult utf8 = Llive(dir, {"model", "eval", "--text-file", dir.File("latin1.txt")});
  EXPECT_EQ(utf8.exit_code, 1);
  EXPECT_THAT(utf8.err, HasSubstr("document 1 is not valid UTF-8: byte 0xe9 at offset 3"));
  std::ofstream(dir.File("short.txt")) << "too short";
  ProcessResult short_text = Llive(dir, {"model", "eval", "--text-file", dir.File("short.txt")});
  EXPECT_EQ(short_text.exit_code, 2);
  EXPECT_THAT(short_text.err, HasSubstr("one window needs 513"));
  ProcessResult missing = Llive(dir, {"model", "eval", "--text-file", dir.File("absent.txt")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("cannot read --text-file"));
  ProcessResult separator = Llive(
      dir, {"model", "eval", "--text-file", dir.File("short.txt"), "--separator", "two words"});
  EXPECT_EQ(separator.exit_code, 2);
  EXPECT_THAT(separator.err, HasSubstr("not one special token"));
}

}  // namespace
}  // namespace llive
