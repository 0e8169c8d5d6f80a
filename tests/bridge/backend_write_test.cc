// The bridge on the real native backends: write-back into a Mamba state and into an RWKV-7
// state fitted end to end, after which the model still decodes (finite logits) and decodes
// differently.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/native/mamba_backend.h"
#include "backends/native/mamba_random.h"
#include "backends/native/rwkv7_backend.h"
#include "bridge/bridge_fit.h"
#include "bridge/thought_bridge.h"

namespace llive::bridge {
namespace {

namespace native = backends::native;

double Logit(double p) { return std::log(p / (1 - p)); }

bool AllFinite(const std::vector<float>& values) {
  for (float value : values) {
    if (!std::isfinite(value)) return false;
  }
  return true;
}

TEST(BackendWriteTest, MambaStateTakesTheWriteAndStillDecodes) {
  native::MambaConfig config;
  config.d_model = 32;
  config.n_layer = 2;
  config.d_state = 8;
  config.d_inner = 64;
  config.d_conv = 4;
  config.dt_rank = 4;
  config.vocab_size = 300;
  auto model = native::MambaModel::FromWeights(config, native::RandomMambaWeights(config, {}));
  ASSERT_TRUE(model.ok()) << model.status();
  auto backend = native::MambaBackend::FromModel(*std::move(model), nullptr, "mamba:memory");
  auto state = *backend->NewState();
  std::vector<int32_t> prompt;
  for (int32_t t = 1; t <= 24; ++t) prompt.push_back((t * 37) % 300);
  ASSERT_TRUE(backend->Feed(*state, prompt).ok());

  // Probes over the SSM state (2 * 64 * 8 = 1024 numbers), standardised by a state's spread.
  BridgeParams params;
  params.architecture = "mamba";
  params.model_fingerprint = backend->Info().fingerprint;
  params.layout = *ResolveLayoutFor(*backend, params.spec);
  ASSERT_EQ(params.layout.size(), 1024);
  std::vector<double> features;
  ASSERT_TRUE(ExtractFeatures(params.layout, *backend->View(*state), features).ok());
  std::mt19937_64 random(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  double spread = 0;
  for (double value : features) spread += value * value / features.size();
  params.standardizer.mean.assign(features.size(), 0.0);
  params.standardizer.scale.assign(features.size(), std::sqrt(spread) + 1e-6);
  for (int f = 0; f < kFactorCount; ++f) {
    FactorProbe probe;
    for (size_t j = 0; j < features.size(); ++j) probe.weights.push_back(0.05 * normal(random));
    params.probes.push_back(probe);
  }
  ThoughtBridge bridge = *ThoughtBridge::Create(params);

  auto unedited = state->Clone();
  const FactorLogits before = *bridge.ReadLogits(*backend->View(*state));
  WriteRequest request;
  request.factors = {2, 6};
  request.target[2] = 0.95f;
  request.target[6] = 0.05f;
  ASSERT_TRUE(bridge.Write(*backend->View(*state), request).ok());
  const FactorLogits after = *bridge.ReadLogits(*backend->View(*state));
  for (int f = 0; f < kFactorCount; ++f) {
    if (f == 2 || f == 6) {
      EXPECT_NEAR(after[f], Logit(double{request.target[f]}), 1e-4) << Factors()[f].id;
    } else {
      EXPECT_NEAR(after[f], before[f], 1e-4) << Factors()[f].id;
    }
  }
  const int32_t next = 5;
  std::vector<float> edited_logits = *backend->Feed(*state, absl::MakeConstSpan(&next, 1));
  std::vector<float> plain_logits = *backend->Feed(*unedited, absl::MakeConstSpan(&next, 1));
  EXPECT_TRUE(AllFinite(edited_logits));
  EXPECT_NE(edited_logits, plain_logits);
}

TEST(BackendWriteTest, Rwkv7FitReadWriteDecode) {
  auto backend = native::Rwkv7Backend::Open(LLIVE_SOURCE_DIR "/tests/fixtures/rwkv7/small");
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto corpus = LoadExemplars(LLIVE_SOURCE_DIR "/bridge/data/exemplars.jsonl");
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  // Every 20th pair: 60 short texts, so that the test takes seconds. Too few per factor for
  // ridge, so every probe takes the difference-of-means fallback.
  std::vector<Exemplar> subset;
  for (size_t i = 0; i + 1 < corpus->size(); i += 40) {
    subset.push_back((*corpus)[i]);
    subset.push_back((*corpus)[i + 1]);
  }
  BridgeFitOptions options;
  options.probes.permutations = 5;
  absl::StatusOr<BridgeFitResult> fit = FitBridge(**backend, subset, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->params.architecture, "rwkv7");
  EXPECT_EQ(fit->report.baselines.size(), 1u);  // bag of words; no twin given
  EXPECT_THAT(FormatFitReport(fit->report), ::testing::HasSubstr("| grounding |"));
  EXPECT_EQ(fit->params.probes[0].method, ProbeMethod::kDifferenceOfMeans);

  // The fitted parameters survive their byte form.
  absl::StatusOr<BridgeParams> parsed = ParseBridgeParams(SerializeBridgeParams(fit->params));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ThoughtBridge bridge = *ThoughtBridge::Create(*parsed);

  auto tokens = *(*backend)->Tokenize("Let me check the logs before deciding.");
  auto state = *(*backend)->NewState();
  ASSERT_TRUE((*backend)->Feed(*state, tokens).ok());
  auto unedited = state->Clone();
  WriteRequest request;
  request.factors = {4};
  request.target[4] = 0.9f;
  const FactorLogits before = *bridge.ReadLogits(*(*backend)->View(*state));
  ASSERT_TRUE(bridge.Write(*(*backend)->View(*state), request).ok());
  const FactorLogits after = *bridge.ReadLogits(*(*backend)->View(*state));
  EXPECT_NEAR(after[4], Logit(double{0.9f}), 1e-4);
  for (int f = 0; f < kFactorCount; ++f) {
    if (f != 4) {
      EXPECT_NEAR(after[f], before[f], 1e-4) << Factors()[f].id;
    }
  }
  const int32_t next = tokens.back();
  std::vector<float> edited_logits = *(*backend)->Feed(*state, absl::MakeConstSpan(&next, 1));
  std::vector<float> plain_logits = *(*backend)->Feed(*unedited, absl::MakeConstSpan(&next, 1));
  EXPECT_TRUE(AllFinite(edited_logits));
  EXPECT_NE(edited_logits, plain_logits);
}

}  // namespace
}  // namespace llive::bridge
