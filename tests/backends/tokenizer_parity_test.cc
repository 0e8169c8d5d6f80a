// Parity of llive's byte-level BPE with Hugging Face's JavaScript tokenizers
// (@huggingface/tokenizers, run by node from tests/peers) on a 1 MB multilingual corpus, for
// GPT-2 and GPT-NeoX-20B: the ids must be identical, document by document.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "backends/native/tokenizer_factory.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/tokenizer_corpus.h"

namespace llive::backends::native {
namespace {

namespace fs = std::filesystem;
using ::llive::testing::RunProcess;
using ::llive::testing::TempDir;

const std::string kPeers = std::string(LLIVE_SOURCE_DIR) + "/tests/peers";

std::optional<std::string> FindNode() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path == nullptr ? "" : path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    fs::path candidate = fs::path(dir) / "node";
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return std::nullopt;
}

std::string ReadAll(const std::string& path) {
  std::stringstream text;
  text << std::ifstream(path, std::ios::binary).rdbuf();
  return text.str();
}

std::string Escaped(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

class TokenizerParityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = FindNode();
    if (!node_.has_value()) {
      GTEST_SKIP() << "node is not on PATH; install Node.js (scripts/setup) to compare with "
                      "@huggingface/tokenizers";
    }
    if (!fs::exists(kPeers + "/node_modules/@huggingface/tokenizers")) {
      GTEST_SKIP() << "tests/peers/node_modules lacks @huggingface/tokenizers; run scripts/setup";
    }
  }

  // Tokenizes the corpus with node and with llive and compares every document.
  void ExpectParity(const std::string& tokenizer_json) {
    std::vector<std::string> documents = llive::testing::GenerateTokenizerCorpus(1 << 20);
    size_t bytes = 0;
    for (const std::string& doc : documents) bytes += doc.size();
    ASSERT_GE(bytes, 1u << 20);
    std::string documents_path = dir_.File("documents.json");
    std::string ids_path = dir_.File("ids.json");
    std::ofstream(documents_path, std::ios::binary) << nlohmann::json(documents).dump();
    testing::ProcessResult node =
        RunProcess({*node_, kPeers + "/hf_tokenize.mjs", tokenizer_json, documents_path, ids_path});
    ASSERT_EQ(node.exit_code, 0) << node.err;
    nlohmann::json expected = nlohmann::json::parse(ReadAll(ids_path));
    ASSERT_EQ(expected.size(), documents.size());

    absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = LoadTokenizer(tokenizer_json);
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
    size_t mismatches = 0, tokens = 0;
    for (size_t d = 0; d < documents.size(); ++d) {
      absl::StatusOr<std::vector<int32_t>> ids = (*tokenizer)->Encode(documents[d]);
      ASSERT_TRUE(ids.ok()) << ids.status();
      std::vector<int32_t> want = expected[d].get<std::vector<int32_t>>();
      tokens += want.size();
      if (*ids == want) continue;
      if (++mismatches > 3) continue;
      size_t k = 0;
      while (k < ids->size() && k < want.size() && (*ids)[k] == want[k]) ++k;
      std::string context;
      for (size_t j = k; j < k + 4 && j < want.size(); ++j) {
        context += std::to_string(want[j]) + Escaped((*tokenizer)->TokenBytes(want[j])) + " ";
      }
      std::string ours;
      for (size_t j = k; j < k + 4 && j < ids->size(); ++j) {
        ours += std::to_string((*ids)[j]) + Escaped((*tokenizer)->TokenBytes((*ids)[j])) + " ";
      }
      ADD_FAILURE() << "document " << d << " differs at token " << k << ": Hugging Face " << context
                    << "| llive " << ours;
    }
    EXPECT_EQ(mismatches, 0u) << "of " << documents.size() << " documents";
    EXPECT_GT(tokens, bytes / 8);
    // Decoding gives the (normalized) text back: for GPT-2, which has no normalizer, the
    // exact documents.
    for (size_t d = 0; d < documents.size(); d += 7) {
      std::vector<int32_t> want = expected[d].get<std::vector<int32_t>>();
      std::string decoded = (*tokenizer)->Decode(want);
      if (tokenizer_json.find("neox") == std::string::npos) {
        ASSERT_EQ(decoded, documents[d]) << "document " << d;
      }
    }
  }

  std::optional<std::string> node_;
  TempDir dir_;
};

TEST_F(TokenizerParityTest, Gpt2MatchesHuggingFaceJavaScript) {
  std::string tokenizer_json = dir_.File("gpt2-tokenizer.json");
  testing::ProcessResult made =
      RunProcess({*node_, kPeers + "/gpt2_tokenizer_json.mjs", tokenizer_json});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ExpectParity(tokenizer_json);
}

// GPT-2's vocabulary behind a Split pattern that matches only whitespace runs and single
// digits (Isolated) and a ByteLevel without its own regex: most of the text lies between the
// matches, which both tokenizers must keep as words of their own.
TEST_F(TokenizerParityTest, SplitPatternWithTextBetweenMatchesMatchesHuggingFaceJavaScript) {
  std::string gpt2_json = dir_.File("gpt2-tokenizer.json");
  testing::ProcessResult made =
      RunProcess({*node_, kPeers + "/gpt2_tokenizer_json.mjs", gpt2_json});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  nlohmann::json tokenizer = nlohmann::json::parse(ReadAll(gpt2_json));
  tokenizer["pre_tokenizer"] = {{"type", "Sequence"},
                                {"pretokenizers",
                                 {{{"type", "Split"},
                                   {"pattern", {{"Regex", "\\s+|\\p{N}"}}},
                                   {"behavior", "Isolated"},
                                   {"invert", false}},
                                  {{"type", "ByteLevel"},
                                   {"add_prefix_space", false},
                                   {"trim_offsets", true},
                                   {"use_regex", false}}}}};
  std::string tokenizer_json = dir_.File("split-tokenizer.json");
  std::ofstream(tokenizer_json, std::ios::binary) << tokenizer.dump();
  ExpectParity(tokenizer_json);
}

TEST_F(TokenizerParityTest, GptNeoXMatchesHuggingFaceJavaScript) {
  ExpectParity(std::string(LLIVE_SOURCE_DIR) +
               "/tests/fixtures/tokenizers/gpt-neox-20b-tokenizer.json");
}

}  // namespace
}  // namespace llive::backends::native
