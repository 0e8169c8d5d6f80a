// Safetensors and Hugging Face folders through Checkpoint::Open: real files written to disk,
// valid and deliberately broken.
#include "backends/native/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "backends/native/dtype.h"
#include "tests/testing/safetensors_file.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

using ::llive::testing::FloatBytes;
using ::llive::testing::SafetensorsBuilder;
using ::llive::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string U16Bytes(const std::vector<uint16_t>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * 2);
}

TEST(CheckpointTest, OpensFolderWithEveryCommonDtype) {
  TempDir dir;
  WriteText(dir.File("config.json"), R"({"model_type": "mamba", "hidden_size": 4})");
  SafetensorsBuilder builder;
  builder.AddFloats("a.weight", {2, 3}, {1, 2, 3, 4, 5, 6.5f});
  builder.Add("b.f16", "F16", {2}, U16Bytes({FloatToHalf(1.5f), FloatToHalf(-2.0f)}));
  builder.Add("c.bf16", "BF16", {2}, U16Bytes({FloatToBFloat16(3.0f), FloatToBFloat16(-0.5f)}));
  builder.Add("d.i8", "I8", {3}, std::string("\x01\xff\x7f", 3));
  builder.Add("e.u8", "U8", {1, 2}, std::string("\x00\xff", 2));
  builder.Write(dir.File("model.safetensors"));

  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir.path().string());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ((*checkpoint)->format(), Checkpoint::Format::kHuggingFace);
  EXPECT_EQ((*checkpoint)->config()["model_type"], "mamba");
  EXPECT_EQ((*checkpoint)->Tensors().size(), 5u);

  const TensorRef* a = (*checkpoint)->Find("a.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(a->shape, ElementsAre(2, 3));
  EXPECT_EQ(a->dtype, DType::kF32);
  EXPECT_EQ(a->elements(), 6);
  EXPECT_THAT(*(*checkpoint)->ReadFloat32(*a), ElementsAre(1, 2, 3, 4, 5, 6.5f));
  EXPECT_THAT(*(*checkpoint)->ReadFloat32(*(*checkpoint)->Find("b.f16")), ElementsAre(1.5f, -2));
  EXPECT_THAT(*(*checkpoint)->ReadFloat32(*(*checkpoint)->Find("c.bf16")), ElementsAre(3, -0.5f));
  EXPECT_THAT(*(*checkpoint)->ReadFloat32(*(*checkpoint)->Find("d.i8")), ElementsAre(1, -1, 127));
  EXPECT_THAT(*(*checkpoint)->ReadFloat32(*(*checkpoint)->Find("e.u8")), ElementsAre(0, 255));
  EXPECT_EQ((*checkpoint)->Find("missing"), nullptr);
}

TEST(CheckpointTest, OpensShardedFolderThroughIndex) {
  TempDir dir;
  WriteText(dir.File("config.json"), "{}");
  SafetensorsBuilder()
      .AddFloats("x", {2}, {1, 2})
      .Write(dir.File("model-00001-of-00002.safetensors"));
  SafetensorsBuilder().AddFloats("y", {1}, {3}).Write(dir.File("model-00002-of-00002.safetensors"));
  WriteText(dir.File("model.safetensors.index.json"),
            R"({"metadata": {}, "weight_map": {"x": "model-00001-of-00002.safetensors",
                                               "y": "model-00002-of-00002.safetensors"}})");
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(dir.path().string());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ((*checkpoint)->Tensors().size(), 2u);
  EXPECT_THAT(*(*checkpoint)->ReadFloat32(*(*checkpoint)->Find("y")), ElementsAre(3));

  // An index naming a tensor its shard does not hold is refused.
  WriteText(dir.File("model.safetensors.index.json"),
            R"({"weight_map": {"x": "model-00001-of-00002.safetensors",
                               "z": "model-00001-of-00002.safetensors"}})");
  absl::StatusOr<std::unique_ptr<Checkpoint>> broken = Checkpoint::Open(dir.path().string());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(broken.status().message(), HasSubstr("\"z\""));
}

TEST(CheckpointTest, MissingPiecesAreNotFound) {
  TempDir dir;
  EXPECT_EQ(Checkpoint::Open(dir.File("nothing")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Checkpoint::Open(dir.path().string()).status().message(), HasSubstr("config.json"));
  WriteText(dir.File("config.json"), "{}");
  absl::Status no_weights = Checkpoint::Open(dir.path().string()).status();
  EXPECT_EQ(no_weights.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_weights.message(), HasSubstr("model.safetensors"));
  WriteText(dir.File("junk.bin"), "not a model");
  EXPECT_EQ(Checkpoint::Open(dir.File("junk.bin")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Each broken file is refused with DataLoss (or InvalidArgument for an unknown dtype) and a
// message naming the problem.
struct BrokenCase {
  std::string name;
  std::string bytes;
  absl::StatusCode code;
  std::string message;
};

std::vector<BrokenCase> BrokenFiles() {
  std::vector<BrokenCase> cases;
  std::string good = SafetensorsBuilder().AddFloats("w", {2, 2}, {1, 2, 3, 4}).Build();
  cases.push_back({"empty", "", absl::StatusCode::kDataLoss, "shorter than the 8-byte"});
  cases.push_back({"truncated_data", good.substr(0, good.size() - 3), absl::StatusCode::kDataLoss,
                   "run past the end of the data"});
  std::string long_header = good;
  uint64_t huge = 1ull << 40;
  std::memcpy(long_header.data(), &huge, 8);
  cases.push_back({"header_past_end", long_header, absl::StatusCode::kDataLoss,
                   "runs past the end of the file"});
  cases.push_back({"bad_json", std::string("\x05\0\0\0\0\0\0\0{\"a\":", 13),
                   absl::StatusCode::kDataLoss, "not a JSON object"});
  {
    SafetensorsBuilder b;
    b.AddFloats("a", {2}, {1, 2}).AddFloats("b", {2}, {3, 4});
    b.header()["b"]["data_offsets"] = {4, 12};
    cases.push_back({"overlap", b.Build(), absl::StatusCode::kDataLoss, "overlap"});
  }
  {
    SafetensorsBuilder b;
    b.AddFloats("a", {2, 2}, {1, 2, 3, 4});
    b.header()["a"]["shape"] = {3, 2};
    cases.push_back({"shape_mismatch", b.Build(), absl::StatusCode::kDataLoss, "needs 24 bytes"});
  }
  {
    SafetensorsBuilder b;
    b.AddFloats("a", {2}, {1, 2});
    b.header()["a"]["dtype"] = "F17";
    cases.push_back({"unknown_dtype", b.Build(), absl::StatusCode::kInvalidArgument, "F17"});
  }
  {
    SafetensorsBuilder b;
    b.AddFloats("a", {2}, {1, 2});
    b.header()["a"]["shape"] = {-2};
    cases.push_back({"negative_dim", b.Build(), absl::StatusCode::kDataLoss, "non-negative"});
  }
  {
    SafetensorsBuilder b;
    b.AddFloats("a", {2}, {1, 2});
    b.header()["a"]["shape"] = {1ull << 62, 1ull << 62};
    cases.push_back({"overflowing_shape", b.Build(), absl::StatusCode::kDataLoss, "64 bits"});
  }
  {
    // After a 0 the element count stays 0, so each entry is checked on its own: 2^64 - 1
    // would become -1 in an int64_t shape.
    SafetensorsBuilder b;
    b.AddFloats("a", {0}, {});
    b.header()["a"]["shape"] = {0, ~0ull};
    cases.push_back({"huge_dim_after_zero", b.Build(), absl::StatusCode::kDataLoss,
                     "shape entry 1 is 18446744073709551615, more than 2^63 - 1"});
  }
  return cases;
}

TEST(CheckpointTest, BrokenSafetensorsFilesAreRefusedClearly) {
  TempDir dir;
  for (const BrokenCase& c : BrokenFiles()) {
    std::string path = dir.File(c.name + ".safetensors");
    WriteText(path, c.bytes);
    absl::Status status = Checkpoint::Open(path).status();
    EXPECT_EQ(status.code(), c.code) << c.name << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(c.message)) << c.name;
    EXPECT_THAT(status.message(), HasSubstr(path)) << c.name;
  }
}

TEST(DTypeTest, HalfConversionsRoundTripAndRound) {
  for (float v : {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f, 5.9604645e-08f}) {
    EXPECT_EQ(HalfToFloat(FloatToHalf(v)), v) << v;
  }
  EXPECT_TRUE(std::isinf(HalfToFloat(FloatToHalf(70000.0f))));
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(NAN))));
  EXPECT_EQ(HalfToFloat(FloatToHalf(1.0f + 1.0f / 4096)), 1.0f);  // ties to even
  EXPECT_EQ(BFloat16ToFloat(FloatToBFloat16(1.0f + 1.0f / 512)), 1.0f);
  EXPECT_TRUE(std::isnan(BFloat16ToFloat(FloatToBFloat16(NAN))));
  // Every half value converts to fp32 and back unchanged (NaNs stay NaN).
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    float v = HalfToFloat(static_cast<uint16_t>(bits));
    if (std::isnan(v)) continue;
    ASSERT_EQ(FloatToHalf(v), bits) << bits;
  }
}

TEST(DTypeTest, Q8_0QuantizesWithinHalfAStep) {
  std::vector<float> values(64);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.37f * i) * (i < 32 ? 1 : 100);
  absl::StatusOr<std::vector<uint8_t>> packed = ConvertFromFloat32(values, DType::kQ8_0);
  ASSERT_TRUE(packed.ok());
  EXPECT_EQ(packed->size(), 2 * kQ8_0BlockBytes);
  std::vector<float> back = ConvertToFloat32(DType::kQ8_0, packed->data(), 64);
  for (size_t i = 0; i < values.size(); ++i) {
    float step = (i < 32 ? 1.0f : 100.0f) / 127;
    EXPECT_NEAR(back[i], values[i], step * 0.51f) << i;
  }
  EXPECT_FALSE(ConvertFromFloat32(std::vector<float>(31), DType::kQ8_0).ok());
}

}  // namespace
}  // namespace llive::backends::native
