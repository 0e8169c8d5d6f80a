// The Mamba model against itself: chunked prefill, single steps and batched steps must give
// the same logits; states round-trip; checkpoints load and bad ones are refused clearly.
#include <cmath>

#include "backends/native/mamba_backend.h"
#include "gtest/gtest.h"
#include "tests/backends/native/mamba_test_models.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

using llive::testing::SmallMambaBackend;
using llive::testing::SmallMambaConfig;

std::vector<int32_t> Tokens(int n, int vocab, int seed = 3) {
  std::vector<int32_t> tokens(n);
  for (int i = 0; i < n; ++i) tokens[i] = (i * 7919 + seed * 104729) % vocab;
  return tokens;
}

double RelativeError(absl::Span<const float> a, absl::Span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double difference = 0, scale = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    difference = std::max(difference, std::abs(double(a[i]) - b[i]));
    scale = std::max(scale, std::abs(double(b[i])));
  }
  return difference / scale;
}

TEST(MambaModelTest, PrefillInAnyChunksEqualsSingleSteps) {
  auto backend = SmallMambaBackend();
  const int64_t vocab = backend->Info().vocab_size;
  const auto tokens = Tokens(40, static_cast<int>(vocab));
  auto all_state = backend->NewState();
  auto all = backend->FeedAllPositions(**all_state, tokens);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), tokens.size() * vocab);

  // One token at a time (steps), from an empty state.
  auto step_state = backend->NewState();
  for (size_t t = 0; t < tokens.size(); ++t) {
    ModelState* states[] = {step_state->get()};
    auto logits = backend->StepBatch(states, {tokens[t]});
    ASSERT_TRUE(logits.ok()) << logits.status();
    EXPECT_LT(RelativeError((*logits)[0], absl::MakeConstSpan(*all).subspan(t * vocab, vocab)),
              1e-5)
        << "position " << t;
  }
  // Chunks shorter and longer than the conv window (d_conv - 1 = 2).
  for (const std::vector<size_t>& cuts :
       {std::vector<size_t>{1, 2, 3, 40}, std::vector<size_t>{17, 40},
        std::vector<size_t>{39, 40}}) {
    auto state = backend->NewState();
    size_t start = 0;
    std::vector<float> last;
    for (size_t end : cuts) {
      auto logits = backend->Feed(**state, absl::MakeConstSpan(tokens).subspan(start, end - start));
      ASSERT_TRUE(logits.ok());
      EXPECT_LT(RelativeError(*logits, absl::MakeConstSpan(*all).subspan((end - 1) * vocab, vocab)),
                1e-5)
          << "chunk ending at " << end;
      start = end;
    }
    EXPECT_EQ((*state)->position(), 40);
  }
}

TEST(MambaModelTest, BatchedStepsEqualSeparateSteps) {
  auto backend = SmallMambaBackend();
  const int vocab = static_cast<int>(backend->Info().vocab_size);
  std::vector<std::unique_ptr<ModelState>> batched, alone;
  for (int b = 0; b < 3; ++b) {
    batched.push_back(*backend->NewState());
    alone.push_back(*backend->NewState());
    const auto prompt = Tokens(5 + 4 * b, vocab, b);
    ASSERT_TRUE(backend->Feed(*batched.back(), prompt).ok());
    ASSERT_TRUE(backend->Feed(*alone.back(), prompt).ok());
  }
  for (int step = 0; step < 4; ++step) {
    std::vector<ModelState*> states = {batched[0].get(), batched[1].get(), batched[2].get()};
    std::vector<int32_t> tokens = {step, 2 * step + 1, 3 * step + 2};
    auto together = backend->StepBatch(states, tokens);
    ASSERT_TRUE(together.ok());
    for (int b = 0; b < 3; ++b) {
      ModelState* one[] = {alone[b].get()};
      auto separate = backend->StepBatch(one, {tokens[b]});
      ASSERT_TRUE(separate.ok());
      EXPECT_LT(RelativeError((*together)[b], (*separate)[0]), 1e-5);
    }
  }
}

TEST(MambaModelTest, LongPromptIsChunkedNotRefused) {
  auto backend = SmallMambaBackend();
  const auto tokens = Tokens(3 * MambaBackend::kPrefillChunkTokens + 17, 61);
  auto whole = backend->NewState();
  auto logits = backend->Feed(**whole, tokens);
  ASSERT_TRUE(logits.ok()) << logits.status();
  auto halves = backend->NewState();
  const size_t half = tokens.size() / 2;
  ASSERT_TRUE(backend->Feed(**halves, absl::MakeConstSpan(tokens).subspan(0, half)).ok());
  auto rest = backend->Feed(**halves, absl::MakeConstSpan(tokens).subspan(half));
  ASSERT_TRUE(rest.ok());
  EXPECT_LT(RelativeError(*rest, *logits), 1e-5);
  EXPECT_EQ((*whole)->position(), static_cast<int64_t>(tokens.size()));
}

TEST(MambaModelTest, BadTokensAndStatesAreRefused) {
  auto backend = SmallMambaBackend();
  auto state = backend->NewState();
  EXPECT_EQ(backend->Feed(**state, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(backend->Feed(**state, {61}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(backend->Feed(**state, {-1}).status().code(), absl::StatusCode::kInvalidArgument);
  ModelState* twice[] = {state->get(), state->get()};
  EXPECT_EQ(backend->StepBatch(twice, {1, 2}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MambaModelTest, StateViewExposesConvAndSsmTensorsAndWritesTakeEffect) {
  auto backend = SmallMambaBackend();
  const MambaConfig config = SmallMambaConfig();
  auto state = backend->NewState();
  ASSERT_TRUE(backend->Feed(**state, Tokens(9, 61)).ok());
  auto view = backend->View(**state);
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->tensors.size(), static_cast<size_t>(2 * config.n_layer));
  EXPECT_EQ(view->tensors[1].name, "layers.0.ssm");
  EXPECT_EQ(view->tensors[1].shape, (std::vector<int64_t>{config.d_inner, config.d_state}));
  EXPECT_EQ(view->tensors[0].kind, "conv");
  EXPECT_EQ(view->tensors[0].shape, (std::vector<int64_t>{config.d_inner, config.d_conv - 1}));
  auto copy = (*state)->Clone();
  ModelState* original[] = {state->get()};
  auto before = backend->StepBatch(original, {5});
  // Zeroing the last layer's SSM state in the copy changes what comes next.
  auto copy_view = backend->View(*copy);
  ASSERT_TRUE(copy_view.ok());
  StateTensor& ssm = copy_view->tensors.back();
  std::fill(ssm.data, ssm.data + config.d_inner * config.d_state, 0.0f);
  ModelState* changed[] = {copy.get()};
  auto after = backend->StepBatch(changed, {5});
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_GT(RelativeError((*after)[0], (*before)[0]), 1e-4);
}

TEST(MambaModelTest, SerializedStateContinuesIdenticallyAndAnotherModelRefusesIt) {
  auto backend = SmallMambaBackend();
  auto state = backend->NewState();
  ASSERT_TRUE(backend->Feed(**state, Tokens(11, 61)).ok());
  auto bytes = backend->SerializeState(**state);
  ASSERT_TRUE(bytes.ok());
  auto restored = backend->DeserializeState(*bytes);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->position(), 11);
  auto a = backend->Feed(**state, {7, 8, 9});
  auto b = backend->Feed(**restored, {7, 8, 9});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);  // bit for bit

  auto other = SmallMambaBackend(/*seed=*/2);
  EXPECT_EQ(other->DeserializeState(*bytes).status().code(), absl::StatusCode::kFailedPrecondition);
}

class MambaCheckpointTest : public ::testing::Test {
 protected:
  MambaConfig config_ = SmallMambaConfig();
  MambaWeights weights_ = RandomMambaWeights(config_, {.seed = 4, .tie_embeddings = false});
  llive::testing::TempDir dir_;

  absl::Status OpenWith(llive::testing::SafetensorsBuilder builder, nlohmann::json config_json) {
    std::ofstream(dir_.File("config.json")) << config_json;
    builder.Write(dir_.File("model.safetensors"));
    return MambaBackend::Open(dir_.path().string()).status();
  }
};

TEST_F(MambaCheckpointTest, HuggingFaceFolderLoadsTheSameModel) {
  llive::testing::WriteHuggingFaceFolder(dir_.path().string(), config_, weights_);
  auto loaded = MambaBackend::Open(dir_.path().string());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto model = MambaModel::FromWeights(config_, weights_);
  ASSERT_TRUE(model.ok());
  auto in_memory = MambaBackend::FromModel(*std::move(model), nullptr, "mamba:memory");
  auto s1 = (*loaded)->NewState();
  auto s2 = in_memory->NewState();
  auto a = (*loaded)->Feed(**s1, Tokens(20, 61));
  auto b = in_memory->Feed(**s2, Tokens(20, 61));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(RelativeError(*a, *b), 1e-6);  // A = -exp(log(-A)) round-trips to within an ulp
  EXPECT_EQ((*loaded)->Name(), "mamba:" + dir_.path().string());
  EXPECT_EQ((*loaded)->Tokenize("hi").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MambaCheckpointTest, MissingTensorIsNamed) {
  auto builder = llive::testing::HuggingFaceTensors(config_, weights_);
  builder.header().erase("backbone.layers.1.mixer.x_proj.weight");
  absl::Status status = OpenWith(builder, llive::testing::HuggingFaceConfig(config_, false));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("backbone.layers.1.mixer.x_proj.weight"), std::string::npos)
      << status;
}

TEST_F(MambaCheckpointTest, WrongShapeIsNamed) {
  auto json = llive::testing::HuggingFaceConfig(config_, false);
  json["state_size"] = config_.d_state + 1;
  absl::Status status = OpenWith(llive::testing::HuggingFaceTensors(config_, weights_), json);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("backbone.layers.0.mixer.x_proj.weight"), std::string::npos)
      << status;
  EXPECT_NE(status.message().find("shape"), std::string::npos) << status;
}

TEST_F(MambaCheckpointTest, NanWeightIsNamed) {
  weights_.layers[2].out_proj[5] = std::nanf("");
  absl::Status status = OpenWith(llive::testing::HuggingFaceTensors(config_, weights_),
                                 llive::testing::HuggingFaceConfig(config_, false));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("layers.2.out_proj"), std::string::npos) << status;
  EXPECT_NE(status.message().find("nan"), std::string::npos) << status;
}

TEST_F(MambaCheckpointTest, UnsupportedVariantsAreRefusedByName) {
  for (const char* model_type : {"falcon_mamba", "mamba2"}) {
    auto json = llive::testing::HuggingFaceConfig(config_, false);
    json["model_type"] = model_type;
    absl::Status status = OpenWith(llive::testing::HuggingFaceTensors(config_, weights_), json);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find(model_type), std::string::npos) << status;
  }
  auto json = llive::testing::HuggingFaceConfig(config_, false);
  json["hidden_act"] = "gelu";
  EXPECT_NE(OpenWith(llive::testing::HuggingFaceTensors(config_, weights_), json)
                .message()
                .find("hidden_act"),
            std::string::npos);
}

TEST_F(MambaCheckpointTest, UntiedConfigWithoutHeadNamesTheHead) {
  weights_.lm_head.clear();
  absl::Status status = OpenWith(llive::testing::HuggingFaceTensors(config_, weights_),
                                 llive::testing::HuggingFaceConfig(config_, false));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("lm_head.weight"), std::string::npos) << status;
}

}  // namespace
}  // namespace llive::backends::native
