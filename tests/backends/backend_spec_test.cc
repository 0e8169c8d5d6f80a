// Tests of backend name parsing.
#include "backends/backend_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace llive::backends {
namespace {

using ::testing::HasSubstr;

TEST(BackendSpecTest, KnownNamesRoundTrip) {
  for (const char* name : {"mock", "openai", "anthropic", "ollama", "mamba:/m/x", "rwkv7:a.gguf"}) {
    absl::StatusOr<BackendSpec> spec = ParseBackendSpec(name);
    ASSERT_TRUE(spec.ok()) << name;
    EXPECT_EQ(spec->ToString(), name);
  }
  EXPECT_EQ(ParseBackendSpec("mamba:/m/x")->model_path, "/m/x");
  EXPECT_TRUE(ParseBackendSpec("ollama")->IsHttp());
  EXPECT_FALSE(ParseBackendSpec("rwkv7:x")->IsHttp());
}

TEST(BackendSpecTest, UnknownNameListsKnownOnes) {
  absl::StatusOr<BackendSpec> spec = ParseBackendSpec("llama");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(spec.status().message(), HasSubstr("mock|openai|anthropic|ollama"));
  EXPECT_THAT(ParseBackendSpec("rwkv7:").status().message(), HasSubstr("needs a model path"));
  EXPECT_FALSE(ParseBackendSpec("").ok());
  EXPECT_FALSE(ParseBackendSpec("Mock").ok());
}

}  // namespace
}  // namespace llive::backends
