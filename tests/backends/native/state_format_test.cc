// State blobs: round trip, corruption, truncation and another model's state.
#include "backends/native/state_format.h"

#include <cstring>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace llive::backends::native {
namespace {

struct TwoTensorState {
  std::vector<float> ssm = std::vector<float>(6);
  std::vector<float> conv = std::vector<float>(4);
  StateView View() {
    StateView view;
    view.tensors.push_back({"layers.0.ssm", 0, "ssm", {3, 2}, ssm.data()});
    view.tensors.push_back({"layers.0.conv", 0, "conv", {2, 2}, conv.data()});
    return view;
  }
};

ModelInfo Info(const std::string& fingerprint) {
  ModelInfo info;
  info.architecture = "mamba";
  info.fingerprint = fingerprint;
  return info;
}

TEST(StateFormatTest, RoundTripRestoresValuesAndPosition) {
  TwoTensorState saved;
  for (size_t i = 0; i < saved.ssm.size(); ++i) saved.ssm[i] = 0.5f * i - 1.0f;
  for (size_t i = 0; i < saved.conv.size(); ++i) saved.conv[i] = -3.25f * i;
  const std::string bytes = SerializeStateView(Info("abc"), 17, saved.View());
  TwoTensorState restored;
  StateView view = restored.View();
  absl::StatusOr<int64_t> position = DeserializeStateView(bytes, Info("abc"), view);
  ASSERT_TRUE(position.ok()) << position.status();
  EXPECT_EQ(*position, 17);
  EXPECT_EQ(restored.ssm, saved.ssm);
  EXPECT_EQ(restored.conv, saved.conv);
}

TEST(StateFormatTest, AnyFlippedByteOrTruncationIsDataLoss) {
  TwoTensorState saved;
  const std::string bytes = SerializeStateView(Info("abc"), 3, saved.View());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string corrupt = bytes;
    corrupt[i] ^= 0x20;
    TwoTensorState restored;
    StateView view = restored.View();
    EXPECT_EQ(DeserializeStateView(corrupt, Info("abc"), view).status().code(),
              absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  for (size_t length : {size_t{0}, size_t{7}, bytes.size() / 2, bytes.size() - 1}) {
    TwoTensorState restored;
    StateView view = restored.View();
    EXPECT_EQ(DeserializeStateView(bytes.substr(0, length), Info("abc"), view).status().code(),
              absl::StatusCode::kDataLoss);
  }
}

TEST(StateFormatTest, AnotherModelsStateIsRefused) {
  TwoTensorState saved;
  const std::string bytes = SerializeStateView(Info("model-one"), 3, saved.View());
  TwoTensorState restored;
  StateView view = restored.View();
  absl::Status status = DeserializeStateView(bytes, Info("model-two"), view).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("different model"), std::string::npos) << status;
  ModelInfo rwkv = Info("model-one");
  rwkv.architecture = "rwkv7";
  EXPECT_EQ(DeserializeStateView(bytes, rwkv, view).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// A blob whose checksum is right but whose header lies (the fuzzer found one: a rank of
// 1.6 billion) is refused before anything is sized by the lie.
TEST(StateFormatTest, HugeRankWithAValidChecksumIsRefusedWithoutAllocating) {
  TwoTensorState saved;
  std::string bytes = SerializeStateView(Info("abc"), 3, saved.View());
  std::string body = bytes.substr(0, bytes.size() - 32);
  // magic, version, "mamba", "abc", position, count, "layers.0.ssm", "ssm", layer: then the rank.
  const size_t rank_offset = 8 + 4 + (4 + 5) + (4 + 3) + 8 + 4 + (4 + 12) + (4 + 3) + 4;
  uint32_t rank = 0;
  std::memcpy(&rank, body.data() + rank_offset, sizeof(rank));
  ASSERT_EQ(rank, 2u) << "the test's idea of the layout is out of date";
  for (uint32_t lie : {3u, 1660000000u, 0xffffffffu}) {
    std::memcpy(body.data() + rank_offset, &lie, sizeof(lie));
    const std::string digest = absl::HexStringToBytes(Sha256Hex(body));
    TwoTensorState restored;
    StateView view = restored.View();
    absl::Status status = DeserializeStateView(body + digest, Info("abc"), view).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << lie;
    EXPECT_NE(status.message().find("rank"), std::string::npos) << status;
  }
}

// The body of a blob with one byte changed and a checksum that matches again, as the fuzzer
// makes them (it learns the digest from the comparison).
std::string Resealed(const std::string& blob, size_t offset, char value) {
  std::string body = blob.substr(0, blob.size() - 32);
  body[offset] = value;
  return body + absl::HexStringToBytes(Sha256Hex(body));
}

// Offsets in the body of TwoTensorState's blob (magic, version, "mamba", "abc", position,
// count; then "layers.0.ssm", "ssm", layer, rank, two dims and six floats; then the conv).
constexpr size_t kSsmKindOffset = 8 + 4 + (4 + 5) + (4 + 3) + 8 + 4 + (4 + 12) + 4;
constexpr size_t kSsmLayerOffset = kSsmKindOffset + 3;
constexpr size_t kConvNameOffset = kSsmLayerOffset + 4 + 4 + 2 * 8 + 6 * 4 + 4;

// Kind and layer are saved from the model's view; a blob that carries others (with a valid
// checksum, as the fuzzer builds them) would restore and then save as different bytes.
TEST(StateFormatTest, AnotherKindOrLayerWithAValidChecksumIsRefused) {
  TwoTensorState saved;
  const std::string bytes = SerializeStateView(Info("abc"), 3, saved.View());
  ASSERT_EQ(bytes.substr(kSsmKindOffset, 3), "ssm") << "the test's idea of the layout is stale";
  ASSERT_EQ(bytes.substr(kConvNameOffset, 13), "layers.0.conv");
  for (const auto& [offset, value] :
       {std::pair{kSsmKindOffset, 'x'}, std::pair{kSsmLayerOffset, '\x07'}}) {
    TwoTensorState restored;
    StateView view = restored.View();
    absl::Status status =
        DeserializeStateView(Resealed(bytes, offset, value), Info("abc"), view).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << offset;
    EXPECT_NE(status.message().find("kind"), std::string::npos) << status;
    EXPECT_NE(status.message().find("layer"), std::string::npos) << status;
  }
}

// A blob refused at its second tensor must not have written its first one.
TEST(StateFormatTest, ARefusedBlobLeavesTheStateUntouched) {
  TwoTensorState saved;
  for (float& v : saved.ssm) v = 2.5f;
  const std::string bytes =
      Resealed(SerializeStateView(Info("abc"), 3, saved.View()), kConvNameOffset, 'X');
  TwoTensorState restored;
  for (float& v : restored.ssm) v = -1.0f;
  StateView view = restored.View();
  absl::Status status = DeserializeStateView(bytes, Info("abc"), view).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(restored.ssm, std::vector<float>(6, -1.0f));
}

TEST(StateFormatTest, Sha256HexMatchesTheKnownDigest) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace llive::backends::native
