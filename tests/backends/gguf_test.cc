// GGUF writing and reading: round trips of every metadata type and tensor type llive
// writes, and broken files refused with clear errors.
#include "backends/native/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "backends/native/checkpoint.h"
#include "backends/native/dtype.h"
#include "backends/native/gguf_writer.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

using ::llive::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<GgufContents> Parse(const std::string& bytes) {
  return ParseGguf(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.gguf");
}

GgufWriter WriterWithEveryType() {
  GgufWriter writer;
  writer.Set("general.architecture", GgufValue::String("mamba"));
  writer.Set("u8", GgufValue::Uint8(200));
  writer.Set("i8", GgufValue::Int8(-100));
  writer.Set("u16", GgufValue::Uint16(60000));
  writer.Set("i16", GgufValue::Int16(-30000));
  writer.Set("u32", GgufValue::Uint32(4000000000u));
  writer.Set("i32", GgufValue::Int32(-2000000000));
  writer.Set("u64", GgufValue::Uint64(1ull << 60));
  writer.Set("i64", GgufValue::Int64(-(1ll << 60)));
  writer.Set("f32", GgufValue::Float32(0.25f));
  writer.Set("f64", GgufValue::Float64(1e-300));
  writer.Set("bool", GgufValue::Bool(true));
  writer.Set("strings", GgufValue::StringArray({"a", "", std::string("\xff\x00z", 3)}));
  writer.Set("ints", GgufValue::Int32Array({1, -2, 3}));
  writer.Set("floats", GgufValue::Float32Array({0.5f, -1.5f}));
  writer.Set("nested", GgufValue::Array(GgufType::kArray,
                                        {GgufValue::Int32Array({7}), GgufValue::Int32Array({})}));
  return writer;
}

TEST(GgufTest, EveryMetadataTypeRoundTrips) {
  GgufWriter writer = WriterWithEveryType();
  writer.Set("u8", GgufValue::Uint8(201));  // replacing keeps the first position
  std::string bytes = writer.Serialize();
  absl::StatusOr<GgufContents> contents = Parse(bytes);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->version, 3u);
  ASSERT_EQ(contents->metadata.size(), 16u);
  EXPECT_EQ(contents->metadata[1].first, "u8");
  EXPECT_EQ(contents->metadata[1].second, GgufValue::Uint8(201));
  GgufWriter again = WriterWithEveryType();
  again.Set("u8", GgufValue::Uint8(201));
  for (const auto& [key, value] : contents->metadata) {
    EXPECT_EQ(value.type, contents->Find(key)->type);
  }
  EXPECT_EQ(contents->Find("i64")->signed_value, -(1ll << 60));
  EXPECT_EQ(contents->Find("u64")->unsigned_value, 1ull << 60);
  EXPECT_EQ(contents->Find("f64")->float_value, 1e-300);
  EXPECT_EQ(contents->Find("strings")->items[2].string_value, std::string("\xff\x00z", 3));
  EXPECT_EQ(contents->Find("nested")->items[0].items[0].signed_value, 7);
  EXPECT_EQ(contents->Find("nested")->element_type, GgufType::kArray);
  EXPECT_EQ(again.Serialize(), bytes);  // writing is deterministic
}

TEST(GgufTest, TensorsRoundTripWithShapesReversedAndAligned) {
  TempDir dir;
  GgufWriter writer(64);
  writer.Set("general.architecture", GgufValue::String("mamba"));
  std::vector<float> values(2 * 3 * 32);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.01f * static_cast<float>(i) - 1;
  ASSERT_TRUE(writer.AddFloat32Tensor("f32", {2, 3, 32}, values, DType::kF32).ok());
  ASSERT_TRUE(writer.AddFloat32Tensor("f16", {6, 32}, values, DType::kF16).ok());
  ASSERT_TRUE(writer.AddFloat32Tensor("bf16", {192}, values, DType::kBF16).ok());
  ASSERT_TRUE(writer.AddFloat32Tensor("q8", {6, 32}, values, DType::kQ8_0).ok());
  std::vector<uint8_t> ints = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  ASSERT_TRUE(writer.AddTensor("i32", DType::kI32, {2}, ints).ok());
  EXPECT_FALSE(writer.AddTensor("i32", DType::kI32, {2}, ints).ok());  // duplicate
  EXPECT_FALSE(writer.AddTensor("u8", DType::kU8, {1}, {1}).ok());     // no such GGUF type
  EXPECT_FALSE(
      writer.AddFloat32Tensor("q8_bad", {2, 16}, std::vector<float>(32), DType::kQ8_0).ok());
  EXPECT_FALSE(writer.AddTensor("short", DType::kF32, {2}, {1, 2, 3}).ok());
  std::string path = dir.File("model.gguf");
  ASSERT_TRUE(writer.WriteFile(path).ok());

  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<GgufContents> contents = Parse(bytes);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(contents->alignment, 64u);
  EXPECT_EQ(contents->data_offset % 64, 0u);
  EXPECT_THAT(contents->tensors[0].dims, ElementsAre(32, 3, 2));
  for (const GgufTensorInfo& info : contents->tensors) EXPECT_EQ(info.offset % 64, 0u);

  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(path);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ((*checkpoint)->format(), Checkpoint::Format::kGguf);
  EXPECT_EQ((*checkpoint)->config()["general.architecture"], "mamba");
  EXPECT_EQ((*checkpoint)->config()["general.alignment"], 64);
  const TensorRef* f32 = (*checkpoint)->Find("f32");
  ASSERT_NE(f32, nullptr);
  EXPECT_THAT(f32->shape, ElementsAre(2, 3, 32));
  EXPECT_EQ(*(*checkpoint)->ReadFloat32(*f32), values);
  std::vector<float> f16 = *(*checkpoint)->ReadFloat32(*(*checkpoint)->Find("f16"));
  std::vector<float> q8 = *(*checkpoint)->ReadFloat32(*(*checkpoint)->Find("q8"));
  EXPECT_EQ((*checkpoint)->Find("q8")->dtype, DType::kQ8_0);
  EXPECT_EQ((*checkpoint)->Find("bf16")->dtype, DType::kBF16);
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_NEAR(f16[i], values[i], 1e-3) << i;
    EXPECT_NEAR(q8[i], values[i], 0.01) << i;
  }
  EXPECT_THAT(*(*checkpoint)->ReadFloat32(*(*checkpoint)->Find("i32")), ElementsAre(1, -1));
}

// A one-tensor file whose fields sit at known offsets, to break on purpose.
std::string OneTensorFile() {
  GgufWriter writer;
  writer.Set("k", GgufValue::Int32Array({1, 2}));
  EXPECT_TRUE(writer.AddFloat32Tensor("w", {256}, std::vector<float>(256, 1.0f), DType::kF32).ok());
  return writer.Serialize();
}

TEST(GgufTest, BrokenFilesAreRefusedClearly) {
  std::string good = OneTensorFile();
  ASSERT_TRUE(Parse(good).ok());
  // Layout: magic 4, version 4, tensors 8, kvs 8, key len 8 + "k", type 4, element type 4,
  // count 8 at offset 41.
  struct Case {
    std::string name;
    std::string bytes;
    std::string message;
  };
  std::vector<Case> cases;
  std::string wrong_magic = good;
  wrong_magic[0] = 'X';
  cases.push_back({"wrong magic", wrong_magic, "first four bytes"});
  cases.push_back({"truncated", good.substr(0, good.size() - 10), "runs past the end"});
  cases.push_back({"truncated header", good.substr(0, 45), "more than the file can hold"});
  std::string huge_array = good;
  uint64_t count = 1ull << 61;
  std::memcpy(huge_array.data() + 41, &count, 8);
  cases.push_back({"huge array", huge_array, "claims 2305843009213693952 INT32 items"});
  std::string huge_tensors = good;
  std::memcpy(huge_tensors.data() + 8, &count, 8);
  cases.push_back({"huge tensor count", huge_tensors, "tensor count"});
  for (const Case& c : cases) {
    absl::Status status = Parse(c.bytes).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << c.name << ": " << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message)) << c.name;
    EXPECT_THAT(std::string(status.message()), HasSubstr("test.gguf")) << c.name;
  }

  GgufWriter nan_writer;
  nan_writer.Set("mamba.rms_eps", GgufValue::Float32(NAN));
  absl::Status nan = Parse(nan_writer.Serialize()).status();
  EXPECT_EQ(nan.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(nan.message(), HasSubstr("\"mamba.rms_eps\" holds a NaN"));

  GgufWriter overlap_writer;
  ASSERT_TRUE(overlap_writer.AddFloat32Tensor("a", {64}, std::vector<float>(64), DType::kF32).ok());
  ASSERT_TRUE(overlap_writer.AddFloat32Tensor("b", {64}, std::vector<float>(64), DType::kF32).ok());
  std::string overlap = overlap_writer.Serialize();
  // b's offset is the last 8 bytes of its tensor info; point it at a's bytes.
  size_t b_offset_at = overlap.find(std::string("\x01\0\0\0\0\0\0\0b", 9)) + 9 + 4 + 8 + 4;
  uint64_t zero = 0;
  std::memcpy(overlap.data() + b_offset_at, &zero, 8);
  absl::Status overlapping = Parse(overlap).status();
  EXPECT_THAT(overlapping.message(), HasSubstr("\"a\" and \"b\" overlap")) << overlapping;
}

// After a zero dimension the element count stays 0 whatever follows, so each dimension is
// checked on its own: llive keeps shapes as int64_t, where 2^64 - 1 would read as -1.
TEST(GgufTest, ADimensionAbove2To63IsRefusedEvenAfterAZero) {
  GgufWriter writer;
  ASSERT_TRUE(writer.AddFloat32Tensor("w", {1, 0}, {}, DType::kF32).ok());
  std::string bytes = writer.Serialize();
  ASSERT_TRUE(Parse(bytes).ok());
  // GGUF stores the dimensions innermost first: 0, then 1 at name + dimension count + 8.
  size_t second_dim_at = bytes.find(std::string("\x01\0\0\0\0\0\0\0w", 9)) + 9 + 4 + 8;
  uint64_t dim = 0;
  std::memcpy(&dim, bytes.data() + second_dim_at, 8);
  ASSERT_EQ(dim, 1u) << "the test's idea of the layout is stale";
  for (uint64_t huge : {(1ull << 63), ~0ull}) {
    std::memcpy(bytes.data() + second_dim_at, &huge, 8);
    absl::Status status = Parse(bytes).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << huge;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(absl::StrCat("\"w\" has dimension 1 of ", huge)));
  }
}

// A file of no tensors declaring general.alignment = 2^31 parsed, and writing its metadata
// again padded 2 GiB (fuzz_gguf timed out on 33 bytes); alignments above 16 MiB are refused.
TEST(GgufTest, AlignmentAbove16MiBIsRefused) {
  auto file = [](uint32_t alignment) {
    const std::string key = "general.alignment";
    std::string bytes = "GGUF";
    auto put = [&bytes](auto value) {
      bytes.append(reinterpret_cast<const char*>(&value), sizeof(value));
    };
    put(uint32_t{3});
    put(uint64_t{0});  // tensors
    put(uint64_t{1});  // metadata
    put(uint64_t{key.size()});
    bytes += key;
    put(static_cast<uint32_t>(GgufType::kUint32));
    put(alignment);
    return bytes;
  };
  absl::StatusOr<GgufContents> largest = Parse(file(kGgufMaxAlignment));
  ASSERT_TRUE(largest.ok()) << largest.status();
  EXPECT_EQ(largest->alignment, 1u << 24);
  for (uint32_t alignment : {1u << 25, 1u << 31}) {
    absl::Status status = Parse(file(alignment)).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << alignment;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(absl::StrCat("general.alignment is ", alignment,
                                       ", not a UINT32 power of two up to 16777216")));
  }
}

// A metadata array of 2^24 one-byte items is a 16 MiB file but would take about 1.6 GB as
// GgufValues; the parser refuses to expand more than kGgufMaxMetadataValues values in all.
TEST(GgufTest, MetadataPastTheValueLimitIsRefusedBeforeItIsExpanded) {
  auto file = [](uint64_t count) {
    std::string bytes = "GGUF";
    auto put = [&bytes](auto value) {
      bytes.append(reinterpret_cast<const char*>(&value), sizeof(value));
    };
    auto put_key = [&](const std::string& key) {
      put(uint64_t{key.size()});
      bytes += key;
    };
    put(uint32_t{3});
    put(uint64_t{0});  // tensors
    put(uint64_t{2});  // metadata
    put_key("general.architecture");
    put(static_cast<uint32_t>(GgufType::kString));
    put_key("mamba");
    put_key("huge");
    put(static_cast<uint32_t>(GgufType::kArray));
    put(static_cast<uint32_t>(GgufType::kUint8));
    put(count);
    bytes.append(static_cast<size_t>(count), '\x07');
    return bytes;
  };
  absl::StatusOr<GgufContents> small = Parse(file(1000));
  ASSERT_TRUE(small.ok()) << small.status();
  const GgufValue* huge = small->Find("huge");
  ASSERT_NE(huge, nullptr);
  EXPECT_EQ(huge->items.size(), 1000u);
  EXPECT_EQ(huge->items.back().unsigned_value, 7u);
  // The top-level values count too: with the architecture string and the array itself, an
  // array of the limit minus one items is one value too many (refused before it is expanded,
  // so this costs the 16 MiB of the file, not the 1.6 GB of its values).
  absl::Status status = Parse(file(kGgufMaxMetadataValues - 1)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("metadata \"huge\" (at byte "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("past 16777216 values"));
}

TEST(GgufTest, UnsupportedQuantizationIsRefusedByName) {
  TempDir dir;
  std::string bytes = OneTensorFile();
  // The tensor's type field follows its name, dimension count and one dimension.
  size_t type_at = bytes.find(std::string("\x01\0\0\0\0\0\0\0w", 9)) + 9 + 4 + 8;
  uint32_t q4_k = 12;
  std::memcpy(bytes.data() + type_at, &q4_k, 4);
  ASSERT_TRUE(Parse(bytes).ok());  // a valid file ...
  std::string path = dir.File("q4k.gguf");
  std::ofstream(path, std::ios::binary) << bytes;
  absl::Status status = Checkpoint::Open(path).status();  // ... that llive cannot load
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("w (Q4_K)"));
}

}  // namespace
}  // namespace llive::backends::native
