// End-to-end tests of `llive model info`, `llive model convert` and `llive tokenize` on real
// files written by the test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "backends/native/gguf_writer.h"
#include "nlohmann/json.hpp"
#include "tests/testing/safetensors_file.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive {
namespace {

using ::llive::testing::ProcessResult;
using ::llive::testing::RunProcess;
using ::llive::testing::TempDir;
using ::testing::HasSubstr;

const std::string kFixtures = std::string(LLIVE_SOURCE_DIR) + "/tests/fixtures/tokenizers/";

ProcessResult Llive(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), LLIVE_BINARY);
  return RunProcess(args, {"LLIVE_LOG_LEVEL=warn"}, input);
}

TEST(ModelCliTest, InfoOnHuggingFaceFolder) {
  TempDir dir;
  std::ofstream(dir.File("config.json")) << R"({"model_type": "mamba", "d_model": 4})";
  llive::testing::SafetensorsBuilder()
      .AddFloats("backbone.embeddings.weight", {3, 4}, std::vector<float>(12, 0.5f))
      .Add("backbone.norm_f.weight", "BF16", {4}, std::string(8, '\0'))
      .Write(dir.File("model.safetensors"));
  std::filesystem::copy_file(kFixtures + "gpt-neox-20b-tokenizer.json", dir.File("tokenizer.json"));

  ProcessResult json = Llive({"model", "info", dir.path().string(), "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json info = nlohmann::json::parse(json.out);
  EXPECT_EQ(info["format"], "huggingface");
  EXPECT_EQ(info["architecture"], "mamba");
  EXPECT_EQ(info["parameters"], 16);
  EXPECT_EQ(info["tensor_count"], 2);
  EXPECT_EQ(info["dtypes"]["F32"], 1);
  EXPECT_EQ(info["dtypes"]["BF16"], 1);
  EXPECT_EQ(info["tensors"][0]["shape"], nlohmann::json({3, 4}));
  EXPECT_EQ(info["tokenizer"]["kind"], "byte-level BPE");
  EXPECT_EQ(info["tokenizer"]["vocab_size"], 50277);

  ProcessResult text = Llive({"model", "info", dir.path().string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("architecture  mamba"));
  EXPECT_THAT(text.out, HasSubstr("backbone.embeddings.weight  F32  [3,4]"));
  EXPECT_THAT(text.out, HasSubstr("byte-level BPE, 50277 tokens"));
}

TEST(ModelCliTest, InfoOnGgufShowsQuantizationTypesLliveCannotLoad) {
  TempDir dir;
  backends::native::GgufWriter writer;
  writer.Set("general.architecture", backends::native::GgufValue::String("rwkv7"));
  writer.Set("rwkv7.block_count", backends::native::GgufValue::Uint32(12));
  ASSERT_TRUE(writer
                  .AddFloat32Tensor("w", {2, 256}, std::vector<float>(512, 1.0f),
                                    backends::native::DType::kF32)
                  .ok());
  std::string bytes = writer.Serialize();
  // Relabel the tensor as Q4_K: the type field follows the name, the count and two dims.
  size_t type_at = bytes.find(std::string("\x01\0\0\0\0\0\0\0w", 9)) + 9 + 4 + 16;
  uint32_t q4_k = 12;
  std::memcpy(bytes.data() + type_at, &q4_k, 4);
  std::ofstream(dir.File("m.gguf"), std::ios::binary) << bytes;

  ProcessResult info = Llive({"--json", "model", "info", dir.File("m.gguf")});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  nlohmann::json json = nlohmann::json::parse(info.out);
  EXPECT_EQ(json["format"], "gguf");
  EXPECT_EQ(json["architecture"], "rwkv7");
  EXPECT_EQ(json["dtypes"]["Q4_K"], 1);
  EXPECT_EQ(json["parameters"], 512);
  EXPECT_EQ(json["metadata"]["rwkv7.block_count"], 12);
  EXPECT_EQ(json["tokenizer"]["kind"], "none");
}

TEST(ModelCliTest, BrokenFilesFailWithTheProblemNamed) {
  TempDir dir;
  std::ofstream(dir.File("bad.gguf"), std::ios::binary) << "GGUF\x03\0\0\0";
  ProcessResult bad = Llive({"model", "info", dir.File("bad.gguf")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("bad.gguf: not a valid GGUF file"));
  ProcessResult missing = Llive({"model", "info", dir.File("none")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no model at"));
  EXPECT_EQ(Llive({"model"}).exit_code, 2);
  EXPECT_EQ(Llive({"model", "info"}).exit_code, 2);
}

TEST(ModelCliTest, ConvertNamesWhatItCannotConvert) {
  TempDir dir;
  std::ofstream(dir.File("config.json")) << R"({"model_type": "llama"})";
  llive::testing::SafetensorsBuilder()
      .AddFloats("w", {1}, {1})
      .Write(dir.File("model.safetensors"));
  ProcessResult wrong_format =
      Llive({"model", "convert", dir.path().string(), "--to", "onnx", dir.File("o")});
  EXPECT_EQ(wrong_format.exit_code, 2);
  EXPECT_THAT(wrong_format.err, HasSubstr("--to onnx"));
  ProcessResult unknown = Llive({"model", "convert", dir.path().string(), dir.File("o.gguf")});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("model_type \"llama\""));
  EXPECT_FALSE(std::filesystem::exists(dir.File("o.gguf")));
}

TEST(TokenizeCliTest, EncodesAndDecodesWithEveryOutputForm) {
  std::string rwkv = kFixtures + "rwkv_vocab_v20230424.txt";
  std::string text = "Hello world\n\xff raw";
  ProcessResult ids = Llive({"tokenize", "--tokenizer", rwkv, "--ids"}, text);
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  EXPECT_THAT(ids.out, ::testing::StartsWith("33155\n"));
  ProcessResult decoded = Llive({"tokenize", "--tokenizer", rwkv, "--decode"}, ids.out);
  ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
  EXPECT_EQ(decoded.out, text);

  ProcessResult json = Llive({"tokenize", "--tokenizer", rwkv, "--json"}, "Hello");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  nlohmann::json parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed["ids"], nlohmann::json({33155}));
  EXPECT_EQ(parsed["tokens"], nlohmann::json({"Hello"}));

  ProcessResult listed =
      Llive({"tokenize", "--tokenizer", kFixtures + "gpt-neox-20b-tokenizer.json"}, "Hi there");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("\t\" there\""));

  TempDir dir;
  std::ofstream(dir.File("ids.json")) << "[33155, 11]";
  ProcessResult from_file =
      Llive({"tokenize", "--tokenizer", rwkv, "--decode", dir.File("ids.json")});
  EXPECT_EQ(from_file.out, "Hello\n");
}

TEST(TokenizeCliTest, ErrorsAreClear) {
  std::string rwkv = kFixtures + "rwkv_vocab_v20230424.txt";
  EXPECT_EQ(Llive({"tokenize", "--tokenizer", rwkv, "--ids", "--decode"}, "1").exit_code, 2);
  EXPECT_EQ(Llive({"tokenize"}, "x").exit_code, 2);
  ProcessResult missing = Llive({"tokenize", "--tokenizer", "/no/such/tokenizer.json"}, "x");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("/no/such/tokenizer.json"));
  ProcessResult bad_ids = Llive({"tokenize", "--tokenizer", rwkv, "--decode"}, "12 abc");
  EXPECT_EQ(bad_ids.exit_code, 1);
  EXPECT_THAT(bad_ids.err, HasSubstr("\"abc\" at byte 3"));
  ProcessResult neox_raw =
      Llive({"tokenize", "--tokenizer", kFixtures + "gpt-neox-20b-tokenizer.json"}, "a\xff");
  EXPECT_EQ(neox_raw.exit_code, 1);
  EXPECT_THAT(neox_raw.err, HasSubstr("byte 0xff at offset 1"));
}

}  // namespace
}  // namespace llive
