// Tests of the bridge parameter byte format: round trip, corruption, truncation, versions.
#include "bridge/bridge_params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <cmath>
#include <cstring>

#include "tests/bridge/small_params.h"

namespace llive::bridge {
namespace {

TEST(BridgeParamsTest, RoundTripKeepsEverything) {
  const BridgeParams params = SmallParams();
  absl::StatusOr<BridgeParams> parsed = ParseBridgeParams(SerializeBridgeParams(params));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->architecture, "mamba");
  EXPECT_EQ(parsed->model_fingerprint, "abc123");
  EXPECT_EQ(parsed->spec.layers, params.spec.layers);
  EXPECT_EQ(parsed->spec.kinds, params.spec.kinds);
  EXPECT_EQ(parsed->spec.max_features, 6);
  ASSERT_EQ(parsed->layout.segments.size(), 2u);
  EXPECT_EQ(parsed->layout.segments[1].tensor, "layers.2.ssm");
  EXPECT_EQ(parsed->layout.segments[1].begin, 1);
  EXPECT_EQ(parsed->standardizer.scale, params.standardizer.scale);
  for (int f = 0; f < kFactorCount; ++f) {
    EXPECT_EQ(parsed->probes[f].method, params.probes[f].method);
    EXPECT_EQ(parsed->probes[f].weights, params.probes[f].weights);
    EXPECT_EQ(parsed->probes[f].bias, params.probes[f].bias);
  }
  EXPECT_EQ(parsed->personas, params.personas);
  EXPECT_EQ(SerializeBridgeParams(*parsed), SerializeBridgeParams(params));
}

TEST(BridgeParamsTest, EveryFlippedByteIsRefused) {
  const std::string bytes = SerializeBridgeParams(SmallParams());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string corrupt = bytes;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x20);
    absl::StatusOr<BridgeParams> parsed = ParseBridgeParams(corrupt);
    ASSERT_FALSE(parsed.ok()) << "byte " << i;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss) << "byte " << i;
  }
}

TEST(BridgeParamsTest, TruncatedOrPaddedBytesAreRefused) {
  const std::string bytes = SerializeBridgeParams(SmallParams());
  for (size_t length : {size_t{0}, size_t{7}, size_t{20}, bytes.size() / 2, bytes.size() - 1}) {
    EXPECT_EQ(ParseBridgeParams(bytes.substr(0, length)).status().code(),
              absl::StatusCode::kDataLoss)
        << length;
  }
  EXPECT_EQ(ParseBridgeParams(bytes + "x").status().code(), absl::StatusCode::kDataLoss);
}

TEST(BridgeParamsTest, NewerVersionIsAFailedPrecondition) {
  std::string bytes = SerializeBridgeParams(SmallParams());
  const uint32_t version = kBridgeParamsVersion + 1;
  std::memcpy(&bytes[8], &version, sizeof version);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size() - SHA256_DIGEST_LENGTH,
         digest);
  bytes.replace(bytes.size() - SHA256_DIGEST_LENGTH, SHA256_DIGEST_LENGTH,
                reinterpret_cast<const char*>(digest), SHA256_DIGEST_LENGTH);
  absl::StatusOr<BridgeParams> parsed = ParseBridgeParams(bytes);
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(parsed.status().message(), ::testing::HasSubstr("version 2"));
}

// `bytes` with `length` bytes at `offset` replaced and the digest made to match again, as
// the fuzzer makes them (it learns the digest from the comparison).
std::string Resealed(std::string bytes, size_t offset, const void* value, size_t length) {
  std::memcpy(&bytes[offset], value, length);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size() - SHA256_DIGEST_LENGTH,
         digest);
  bytes.replace(bytes.size() - SHA256_DIGEST_LENGTH, SHA256_DIGEST_LENGTH,
                reinterpret_cast<const char*>(digest), SHA256_DIGEST_LENGTH);
  return bytes;
}

// Parameters that parse must save as the same bytes; each of these would not, so each is
// refused even with a valid digest.
TEST(BridgeParamsTest, FieldsThatWouldNotSaveBackAreRefused) {
  const std::string bytes = SerializeBridgeParams(SmallParams());
  // Magic, version and payload size; "mamba" and "abc123" with their lengths; layer count.
  const size_t first_layer = 8 + 4 + 8 + (8 + 5) + (8 + 6) + 8;
  int64_t layer = -1;
  std::memcpy(&layer, &bytes[first_layer], sizeof layer);
  ASSERT_EQ(layer, 0) << "the test's idea of the layout is stale";
  layer = int64_t{1} << 40;
  absl::Status status =
      ParseBridgeParams(Resealed(bytes, first_layer, &layer, sizeof layer)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("layer 1099511627776 is outside"));

  // A score that is a double but not a float: it would be saved as the float next to it.
  const size_t first_score = bytes.find("careful") + 7;
  double score = 0;
  std::memcpy(&score, &bytes[first_score], sizeof score);
  ASSERT_EQ(score, static_cast<double>(0.8f));
  score = 0.8;
  status = ParseBridgeParams(Resealed(bytes, first_score, &score, sizeof score)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("persona \"careful\" has the score 0.8"));

  // The same persona twice: the map would keep one and save one.
  BridgeParams two = SmallParams();
  two.personas["carefuL"] = two.personas["careful"];
  const std::string twice = SerializeBridgeParams(two);
  const size_t other = twice.find("carefuL");
  ASSERT_NE(other, std::string::npos);
  status = ParseBridgeParams(Resealed(twice, other + 6, "l", 1)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("persona \"careful\" appears twice"));
}

TEST(BridgeParamsTest, ValidationNamesTheProblem) {
  BridgeParams params = SmallParams();
  EXPECT_TRUE(ValidateBridgeParams(params).ok());
  params.probes[3].weights.pop_back();
  EXPECT_THAT(ValidateBridgeParams(params).message(), ::testing::HasSubstr("self_extension"));
  params = SmallParams();
  params.probes[0].bias = std::nan("");
  EXPECT_FALSE(ValidateBridgeParams(params).ok());
  params = SmallParams();
  params.standardizer.scale[2] = 0.0;
  EXPECT_FALSE(ValidateBridgeParams(params).ok());
  params = SmallParams();
  params.personas["bad"].fill(1.5f);
  EXPECT_THAT(ValidateBridgeParams(params).message(), ::testing::HasSubstr("persona \"bad\""));
  params = SmallParams();
  params.probes.pop_back();
  EXPECT_FALSE(ValidateBridgeParams(params).ok());
}

}  // namespace
}  // namespace llive::bridge
