// GGUF interoperability: llama.cpp (through node-llama-cpp, tests/peers) loads a tiny
// Mamba-architecture GGUF that llive wrote (random weights, the GPT-NeoX vocabulary) and
// reports the same metadata, tensor count, parameter count and tokenization.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backends/native/gguf.h"
#include "backends/native/gguf_tokenizer_metadata.h"
#include "backends/native/gguf_writer.h"
#include "backends/native/mapped_file.h"
#include "backends/native/tokenizer_factory.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/tokenizer_corpus.h"

namespace llive::backends::native {
namespace {

namespace fs = std::filesystem;
using ::llive::testing::CorpusRandom;
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

// The Mamba-1 layout llama.cpp loads: shapes row-major here (GGUF stores them reversed).
absl::Status WriteTinyMamba(const std::string& tokenizer_folder, const std::string& path,
                            int64_t& parameters) {
  constexpr int64_t kEmbd = 16, kInner = 32, kState = 4, kConv = 4, kRank = 2, kLayers = 2;
  constexpr int64_t kVocabRows = 50280;
  GgufWriter writer;
  writer.Set("general.architecture", GgufValue::String("mamba"));
  writer.Set("general.name", GgufValue::String("llive tiny mamba"));
  writer.Set("mamba.context_length", GgufValue::Uint32(2048));
  writer.Set("mamba.embedding_length", GgufValue::Uint32(kEmbd));
  writer.Set("mamba.block_count", GgufValue::Uint32(kLayers));
  writer.Set("mamba.feed_forward_length", GgufValue::Uint32(0));
  writer.Set("mamba.attention.head_count", GgufValue::Uint32(0));
  writer.Set("mamba.ssm.conv_kernel", GgufValue::Uint32(kConv));
  writer.Set("mamba.ssm.inner_size", GgufValue::Uint32(kInner));
  writer.Set("mamba.ssm.state_size", GgufValue::Uint32(kState));
  writer.Set("mamba.ssm.time_step_rank", GgufValue::Uint32(kRank));
  writer.Set("mamba.attention.layer_norm_rms_epsilon", GgufValue::Float32(1e-5f));
  writer.Set("general.file_type", GgufValue::Uint32(0));
  GgufTokenizerOptions tokenizer_options;
  tokenizer_options.vocab_rows = kVocabRows;
  tokenizer_options.pre = "olmo";
  if (absl::Status s = AddTokenizerToGguf(tokenizer_folder, tokenizer_options, writer); !s.ok()) {
    return s;
  }
  CorpusRandom random(11);
  parameters = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t count = 1;
    for (int64_t dim : shape) count *= dim;
    parameters += count;
    std::vector<float> values(static_cast<size_t>(count));
    for (float& v : values) v = (static_cast<float>(random.Below(2001)) - 1000.0f) / 20000.0f;
    return writer.AddFloat32Tensor(name, std::move(shape), values, DType::kF32);
  };
  if (absl::Status s = add("token_embd.weight", {kVocabRows, kEmbd}); !s.ok()) return s;
  if (absl::Status s = add("output_norm.weight", {kEmbd}); !s.ok()) return s;
  for (int layer = 0; layer < kLayers; ++layer) {
    std::string p = "blk." + std::to_string(layer) + ".";
    for (auto [name, shape] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
             {"attn_norm.weight", {kEmbd}},
             {"ssm_in.weight", {2 * kInner, kEmbd}},
             {"ssm_conv1d.weight", {kInner, kConv}},
             {"ssm_conv1d.bias", {kInner}},
             {"ssm_x.weight", {kRank + 2 * kState, kInner}},
             {"ssm_dt.weight", {kInner, kRank}},
             {"ssm_dt.bias", {kInner}},
             {"ssm_a", {kInner, kState}},
             {"ssm_d", {kInner}},
             {"ssm_out.weight", {kEmbd, kInner}}}) {
      if (absl::Status s = add(p + name, shape); !s.ok()) return s;
    }
  }
  return writer.WriteFile(path);
}

TEST(GgufInteropTest, LlamaCppLoadsWhatLliveWrites) {
  std::optional<std::string> node = FindNode();
  if (!node.has_value()) {
    GTEST_SKIP() << "node is not on PATH; install Node.js (scripts/setup) to run llama.cpp";
  }
  if (!fs::exists(kPeers + "/node_modules/node-llama-cpp")) {
    GTEST_SKIP() << "tests/peers/node_modules lacks node-llama-cpp; run scripts/setup";
  }
  TempDir dir;
  fs::copy_file(
      std::string(LLIVE_SOURCE_DIR) + "/tests/fixtures/tokenizers/gpt-neox-20b-tokenizer.json",
      dir.File("tokenizer.json"));
  std::string path = dir.File("tiny-mamba.gguf");
  int64_t parameters = 0;
  ASSERT_TRUE(WriteTinyMamba(dir.path().string(), path, parameters).ok());

  const std::string text = "Hello world! The state space model reads 1,024 tokens.";
  testing::ProcessResult loaded = RunProcess({*node, kPeers + "/gguf_load.mjs", path, text});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err << loaded.out;
  nlohmann::json peer = nlohmann::json::parse(loaded.out);

  absl::StatusOr<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok());
  absl::StatusOr<GgufContents> ours = ParseGguf((*file)->data(), (*file)->size(), path);
  ASSERT_TRUE(ours.ok()) << ours.status();
  EXPECT_EQ(peer["architecture"], "mamba");
  EXPECT_EQ(peer["version"], 3);
  EXPECT_EQ(peer["tensorCount"], ours->tensors.size());
  const nlohmann::json& mamba = peer["metadata"]["mamba"];
  EXPECT_EQ(mamba["block_count"], ours->Find("mamba.block_count")->unsigned_value);
  EXPECT_EQ(mamba["embedding_length"], ours->Find("mamba.embedding_length")->unsigned_value);
  EXPECT_EQ(mamba["ssm"]["inner_size"], ours->Find("mamba.ssm.inner_size")->unsigned_value);
  EXPECT_EQ(mamba["ssm"]["state_size"], ours->Find("mamba.ssm.state_size")->unsigned_value);
  EXPECT_EQ(peer["metadata"]["tokenizer"]["ggml"]["tokens"],
            ours->Find("tokenizer.ggml.tokens")->items.size());
  EXPECT_EQ(peer["metadata"]["general"]["name"], "llive tiny mamba");
  // What llama.cpp itself derived from the file.
  const nlohmann::json& cpp = peer["llamaCpp"];
  EXPECT_EQ(cpp["parameters"], parameters);
  EXPECT_EQ(cpp["trainContextSize"], 2048);
  EXPECT_EQ(cpp["embeddingVectorSize"], 16);
  EXPECT_EQ(cpp["eos"], 0);
  uint64_t tensor_bytes = 0;
  for (const GgufTensorInfo& tensor : ours->tensors) tensor_bytes += tensor.bytes;
  EXPECT_EQ(cpp["sizeBytes"], tensor_bytes);
  // llama.cpp's tokenizer on the embedded vocabulary agrees with llive's.
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = LoadTokenizer(path);
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status();
  EXPECT_EQ(peer["tokens"].get<std::vector<int32_t>>(), *(*tokenizer)->Encode(text));
}

}  // namespace
}  // namespace llive::backends::native
