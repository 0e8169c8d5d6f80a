// The generation loop over a scripted byte-level model: streaming of whole UTF-8 code
// points, stop strings, token limits, end-of-sequence and cancellation.
#include "backends/native/generation.h"

#include <memory>

#include "backends/http_generation.h"
#include "gtest/gtest.h"

namespace llive::backends::native {
namespace {

// A model whose vocabulary is the 256 bytes plus an end token (256) and whose greedy
// continuation of any prompt is a fixed script, one byte per step, then the end token.
class ScriptedBackend : public StatefulBackend {
 public:
  explicit ScriptedBackend(std::string script) : script_(std::move(script)) {
    info_.architecture = "scripted";
    info_.vocab_size = 257;
  }
  struct State : ModelState {
    int64_t fed = 0;
    int64_t generated = 0;
    std::unique_ptr<ModelState> Clone() const override { return std::make_unique<State>(*this); }
    int64_t position() const override { return fed; }
  };
  const ModelInfo& Info() const override { return info_; }
  absl::StatusOr<std::unique_ptr<ModelState>> NewState() override {
    return std::make_unique<State>();
  }
  absl::StatusOr<std::vector<float>> Feed(ModelState& state,
                                          absl::Span<const int32_t> tokens) override {
    static_cast<State&>(state).fed += static_cast<int64_t>(tokens.size());
    ++feeds;
    return Logits(static_cast<State&>(state));
  }
  absl::StatusOr<std::vector<std::vector<float>>> StepBatch(
      absl::Span<ModelState* const> states, absl::Span<const int32_t> tokens) override {
    ++steps;
    std::vector<std::vector<float>> out;
    for (ModelState* state : states) {
      auto& s = static_cast<State&>(*state);
      ++s.fed;
      ++s.generated;
      out.push_back(Logits(s));
    }
    return out;
  }
  absl::StatusOr<StateView> View(ModelState&) override { return StateView{}; }
  absl::StatusOr<std::string> SerializeState(const ModelState&) override { return ""; }
  absl::StatusOr<std::unique_ptr<ModelState>> DeserializeState(absl::string_view) override {
    return absl::UnimplementedError("not needed");
  }
  absl::StatusOr<std::vector<int32_t>> Tokenize(absl::string_view text) const override {
    return std::vector<int32_t>(text.begin(), text.end());
  }
  std::string Detokenize(absl::Span<const int32_t> tokens) const override {
    std::string text;
    for (int32_t t : tokens) {
      if (t < 256) text.push_back(static_cast<char>(t));
    }
    return text;
  }
  absl::StatusOr<GenerateResponse> Generate(const GenerateRequest& request,
                                            const StreamCallback& on_text = nullptr) override {
    return GenerateWithState(*this, {.bos_id = -1, .eos_id = 256}, request, on_text);
  }
  std::string Name() const override { return "scripted"; }

  int steps = 0;
  int feeds = 0;

 private:
  std::vector<float> Logits(const State& state) const {
    std::vector<float> logits(257, 0.0f);
    const size_t i = static_cast<size_t>(state.generated);
    logits[i < script_.size() ? static_cast<unsigned char>(script_[i]) : 256] = 10.0f;
    return logits;
  }
  std::string script_;
  ModelInfo info_;
};

GenerateRequest Greedy(int max_tokens) {
  GenerateRequest request;
  request.prompt = "hi";
  request.temperature = 0.0f;
  request.max_tokens = max_tokens;
  return request;
}

TEST(GenerationTest, StreamsWholeCodePointsAndEndsAtTheEndToken) {
  ScriptedBackend backend("a\xC3\xA9\xE3\x81\x82z");  // a é あ z
  std::vector<std::string> deltas;
  auto response = backend.Generate(Greedy(100), [&](absl::string_view delta) {
    deltas.emplace_back(delta);
    return true;
  });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text, "a\xC3\xA9\xE3\x81\x82z");
  EXPECT_EQ(response->finish_reason, FinishReason::kStop);
  EXPECT_EQ(deltas, (std::vector<std::string>{"a", "\xC3\xA9", "\xE3\x81\x82", "z"}));
  EXPECT_EQ(response->usage.prompt_tokens, 2);
  EXPECT_EQ(response->usage.completion_tokens, 7);
}

TEST(GenerationTest, MaxTokensEndsWithLengthAndACutCodePointBecomesAReplacement) {
  ScriptedBackend backend("ab\xE3\x81\x82");
  auto response = backend.Generate(Greedy(3));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->finish_reason, FinishReason::kLength);
  EXPECT_EQ(response->text, "ab\xEF\xBF\xBD");
  EXPECT_EQ(backend.steps, 2);  // the last sampled token is not fed
}

TEST(GenerationTest, StopStringEndsGenerationAndIsNeverStreamed) {
  ScriptedBackend backend("hello</s>world");
  GenerateRequest request = Greedy(100);
  request.stop = {"</s>"};
  std::string streamed;
  auto response = backend.Generate(request, [&](absl::string_view delta) {
    streamed.append(delta.data(), delta.size());
    EXPECT_EQ(streamed.find('<'), std::string::npos) << "a stop prefix was streamed early";
    return true;
  });
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->finish_reason, FinishReason::kStop);
  EXPECT_EQ(response->text, "hello");
  EXPECT_EQ(streamed, "hello");
}

TEST(GenerationTest, HeldBackPrefixIsReleasedWhenTheStopStringDoesNotFollow) {
  ScriptedBackend backend("a<b");
  GenerateRequest request = Greedy(100);
  request.stop = {"<s>"};
  auto response = backend.Generate(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->text, "a<b");
  EXPECT_EQ(response->finish_reason, FinishReason::kStop);  // the end token
}

TEST(GenerationTest, CallbackReturningFalseOrCancelFlagCancels) {
  ScriptedBackend backend("abcdef");
  auto response = backend.Generate(Greedy(100), [](absl::string_view) { return false; });
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(response->text, "a");

  std::atomic<bool> cancel{true};
  GenerateRequest request = Greedy(100);
  request.cancel = &cancel;
  response = backend.Generate(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(response->text, "");
}

TEST(GenerationTest, BadRequestsAreInvalidArgument) {
  ScriptedBackend backend("x");
  GenerateRequest request = Greedy(10);
  request.top_p = 2.0f;
  EXPECT_EQ(backend.Generate(request).status().code(), absl::StatusCode::kInvalidArgument);
  request = Greedy(10);
  request.prompt = "";
  EXPECT_EQ(backend.Generate(request).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(GenerationTest, InvalidUtf8InAnyRequestTextIsRefusedBeforeAnythingRuns) {
  struct Case {
    void (*spoil)(GenerateRequest&);
    const char* field;
  };
  const Case cases[] = {
      {[](GenerateRequest& r) { r.prompt = "ok \xFF"; },
       "the prompt is not valid UTF-8: byte 0xff at offset 3"},
      {[](GenerateRequest& r) { r.system = "\xC3("; },
       "the system prompt is not valid UTF-8: byte 0xc3 at offset 0"},
      {[](GenerateRequest& r) {
         r.messages = {{"user", "fine"}, {"user", "a\xED\xA0\x80"}};
       },
       "message 1 is not valid UTF-8: byte 0xed at offset 1"},  // a surrogate
      {[](GenerateRequest& r) { r.stop = {"\xC0\xAF"}; },
       "stop string 0 is not valid UTF-8"},  // overlong
  };
  for (const Case& c : cases) {
    ScriptedBackend backend("abc");
    GenerateRequest request = Greedy(5);
    c.spoil(request);
    absl::StatusOr<GenerateResponse> response = backend.Generate(request);
    EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(response.status().message().find(c.field), std::string::npos) << response.status();
    EXPECT_EQ(backend.feeds + backend.steps, 0) << "nothing was run for " << c.field;
    // The HTTP backends check the same before sending.
    EXPECT_EQ(ValidateGenerateRequest(request).code(), absl::StatusCode::kInvalidArgument);
  }
  GenerateRequest fine = Greedy(5);
  fine.prompt = "日本語 and emoji 🙂";
  EXPECT_TRUE(ValidateRequestText(fine).ok());
  EXPECT_TRUE(ValidateGenerateRequest(fine).ok());
}

TEST(GenerationTest, ChatMessagesRenderAsATranscript) {
  GenerateRequest request;
  request.system = "Be brief.";
  request.messages = {{"user", "Hi"}, {"assistant", "Hello"}};
  request.prompt = "Why?";
  EXPECT_EQ(RenderPrompt(request),
            "Be brief.\n\nUser: Hi\n\nAssistant: Hello\n\nUser: Why?\n\nAssistant:");
  GenerateRequest plain;
  plain.prompt = "Once upon";
  EXPECT_EQ(RenderPrompt(plain), "Once upon");
}

TEST(GenerationTest, InvalidUtf8BytesBecomeReplacementCharacters) {
  std::string pending = "a\xFF\xC3";
  EXPECT_EQ(TakeCompleteUtf8(pending, false), "a\xEF\xBF\xBD");
  EXPECT_EQ(pending, "\xC3");
  EXPECT_EQ(TakeCompleteUtf8(pending, true), "\xEF\xBF\xBD");
  EXPECT_TRUE(pending.empty());
  pending = "\xE0\x80\x80";  // overlong
  EXPECT_EQ(TakeCompleteUtf8(pending, false), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace llive::backends::native
