// Tests of the deterministic mock backend.
#include "backends/mock_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace llive::backends {
namespace {

TEST(MockBackendTest, DeterministicEcho) {
  MockBackend backend;
  GenerateRequest request;
  request.prompt = "the quick brown fox";
  absl::StatusOr<GenerateResponse> first = backend.Generate(request);
  absl::StatusOr<GenerateResponse> second = backend.Generate(request);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->text, "mock reply to: the quick brown fox");
  EXPECT_EQ(first->text, second->text);
  EXPECT_EQ(first->finish_reason, FinishReason::kStop);
  EXPECT_EQ(first->backend, "mock");
  EXPECT_EQ(first->usage.prompt_tokens, 4);
  EXPECT_EQ(first->usage.completion_tokens, 7);
}

TEST(MockBackendTest, MaxTokensStopStringsAndStreaming) {
  MockBackend backend(MockOptions{[](const GenerateRequest&) { return "one two three. four"; }, 0});
  GenerateRequest request;
  request.prompt = "x";
  request.max_tokens = 2;
  std::vector<std::string> deltas;
  absl::StatusOr<GenerateResponse> cut = backend.Generate(request, [&](absl::string_view delta) {
    deltas.emplace_back(delta);
    return true;
  });
  EXPECT_EQ(cut->text, "one two");
  EXPECT_EQ(cut->finish_reason, FinishReason::kLength);
  EXPECT_EQ(deltas, (std::vector<std::string>{"one", " two"}));
  request.max_tokens = 100;
  request.stop = {".", "zzz"};
  EXPECT_EQ(backend.Generate(request)->text, "one two three");
  EXPECT_EQ(backend.Generate(request)->finish_reason, FinishReason::kStop);
}

TEST(MockBackendTest, CancellationAndBadRequests) {
  MockBackend backend;
  GenerateRequest request;
  request.prompt = "a b c d e f";
  absl::StatusOr<GenerateResponse> cancelled =
      backend.Generate(request, [](absl::string_view) { return false; });
  EXPECT_EQ(cancelled->finish_reason, FinishReason::kCancelled);
  std::atomic<bool> cancel{true};
  request.cancel = &cancel;
  EXPECT_EQ(backend.Generate(request)->finish_reason, FinishReason::kCancelled);
  GenerateRequest empty;
  EXPECT_EQ(backend.Generate(empty).status().code(), absl::StatusCode::kInvalidArgument);
  GenerateRequest bad_role;
  bad_role.messages = {{"tool", "x"}};
  EXPECT_EQ(backend.Generate(bad_role).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llive::backends
