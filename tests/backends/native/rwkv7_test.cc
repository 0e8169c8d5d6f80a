// The RWKV-7 backend against the independent PyTorch reference (committed fixture made by
// scripts/reference/rwkv7_reference.py), and its state, checkpoint and GGUF guarantees.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/held_out_loss.h"
#include "backends/native/checkpoint.h"
#include "backends/native/generation.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native/rwkv7_gguf_export.h"
#include "backends/native/rwkv7_weights.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/safetensors_file.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

// The committed small fixture, or another reference output (the 0.1B shape on the GPU
// machine) named by LLIVE_RWKV7_PARITY_DIR.
std::string FixtureDir() {
  const char* dir = std::getenv("LLIVE_RWKV7_PARITY_DIR");
  return dir != nullptr ? dir : LLIVE_SOURCE_DIR "/tests/fixtures/rwkv7/small";
}
std::string SmallFixture() { return LLIVE_SOURCE_DIR "/tests/fixtures/rwkv7/small"; }

struct Expected {
  std::vector<int32_t> tokens;
  std::vector<std::vector<double>> logits;  // after each token
};

Expected ReadExpected(const std::string& dir) {
  std::ifstream in(dir + "/expected.json");
  nlohmann::json json = nlohmann::json::parse(in);
  Expected e;
  e.tokens = json["tokens"].get<std::vector<int32_t>>();
  e.logits = json["logits"].get<std::vector<std::vector<double>>>();
  return e;
}

// ||a - b||_inf / ||b||_inf
double RelativeError(const std::vector<float>& a, const std::vector<double>& b) {
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}
double RelativeError(const std::vector<float>& a, const std::vector<float>& b) {
  return RelativeError(a, std::vector<double>(b.begin(), b.end()));
}

std::unique_ptr<Rwkv7Backend> OpenOrDie(const std::string& path) {
  auto backend = Rwkv7Backend::Open(path);
  EXPECT_TRUE(backend.ok()) << backend.status();
  return backend.ok() ? *std::move(backend) : nullptr;
}

constexpr double kParityTolerance = 1e-4;

TEST(Rwkv7ParityTest, PrefillMatchesReference) {
  auto backend = OpenOrDie(FixtureDir());
  ASSERT_NE(backend, nullptr);
  const Expected e = ReadExpected(FixtureDir());
  auto state = backend->NewState();
  ASSERT_TRUE(state.ok());
  auto logits = backend->Feed(**state, e.tokens);
  ASSERT_TRUE(logits.ok()) << logits.status();
  const double error = RelativeError(*logits, e.logits.back());
  std::cout << "rwkv7 parity (" << FixtureDir() << ", " << e.tokens.size()
            << " tokens, prefill): relative error " << error << "\n";
  EXPECT_LE(error, kParityTolerance);
  EXPECT_EQ((*state)->position(), static_cast<int64_t>(e.tokens.size()));
}

TEST(Rwkv7ParityTest, EveryStepMatchesReference) {
  auto backend = OpenOrDie(FixtureDir());
  ASSERT_NE(backend, nullptr);
  const Expected e = ReadExpected(FixtureDir());
  auto state = backend->NewState();
  ASSERT_TRUE(state.ok());
  double worst = 0.0;
  for (size_t t = 0; t < e.tokens.size(); ++t) {
    ModelState* states[] = {state->get()};
    auto logits = backend->StepBatch(states, {e.tokens[t]});
    ASSERT_TRUE(logits.ok()) << logits.status();
    worst = std::max(worst, RelativeError((*logits)[0], e.logits[t]));
  }
  std::cout << "rwkv7 parity (" << e.tokens.size() << " single steps): worst relative error "
            << worst << "\n";
  EXPECT_LE(worst, kParityTolerance);
}

TEST(Rwkv7ParityTest, AllPositionsMatchTheReference) {
  auto backend = OpenOrDie(FixtureDir());
  ASSERT_NE(backend, nullptr);
  const Expected e = ReadExpected(FixtureDir());
  auto state = backend->NewState();
  ASSERT_TRUE(state.ok());
  auto all = backend->FeedAllPositions(**state, e.tokens);
  ASSERT_TRUE(all.ok()) << all.status();
  const size_t vocab = static_cast<size_t>(backend->Info().vocab_size);
  ASSERT_EQ(all->size(), e.tokens.size() * vocab);
  double worst = 0;
  for (size_t t = 0; t < e.tokens.size(); ++t) {
    std::vector<float> row(all->begin() + t * vocab, all->begin() + (t + 1) * vocab);
    worst = std::max(worst, RelativeError(row, e.logits[t]));
  }
  EXPECT_LE(worst, kParityTolerance);
  EXPECT_EQ((*state)->position(), static_cast<int64_t>(e.tokens.size()));
}

// The held-out loss equals the cross-entropy computed from the float64 reference's logits.
TEST(Rwkv7ParityTest, HeldOutLossMatchesTheReferenceLogits) {
  auto backend = OpenOrDie(FixtureDir());
  ASSERT_NE(backend, nullptr);
  const Expected e = ReadExpected(FixtureDir());
  const int64_t window = static_cast<int64_t>(e.tokens.size()) - 1;
  double expected = 0;
  for (int64_t t = 0; t < window; ++t) {
    const std::vector<double>& row = e.logits[t];
    const double max = *std::max_element(row.begin(), row.end());
    double sum = 0;
    for (double v : row) sum += std::exp(v - max);
    expected += max + std::log(sum) - row[e.tokens[t + 1]];
  }
  expected /= static_cast<double>(window);
  backends::HeldOutLossOptions options;
  options.window = window;
  auto loss = backends::MeasureHeldOutLoss(*backend, e.tokens, options);
  ASSERT_TRUE(loss.ok()) << loss.status();
  EXPECT_EQ(loss->windows, 1);
  EXPECT_EQ(loss->tokens, window);
  EXPECT_NEAR(loss->cross_entropy, expected, 1e-4 * expected);
  // Two windows of half the length score the two halves from empty states.
  options.window = window / 2;
  auto halves = backends::MeasureHeldOutLoss(*backend, e.tokens, options);
  ASSERT_TRUE(halves.ok());
  EXPECT_EQ(halves->windows, 2);
  EXPECT_EQ(halves->per_window.size(), 2u);
  options.window = static_cast<int64_t>(e.tokens.size());
  EXPECT_EQ(backends::MeasureHeldOutLoss(*backend, e.tokens, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Rwkv7ParityTest, PrefillThenStepEqualsPrefill) {
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  const Expected e = ReadExpected(SmallFixture());
  auto whole = backend->NewState();
  auto split = backend->NewState();
  ASSERT_TRUE(whole.ok() && split.ok());
  auto all = backend->Feed(**whole, e.tokens);
  ASSERT_TRUE(all.ok());
  const size_t half = e.tokens.size() / 2;
  ASSERT_TRUE(backend->Feed(**split, absl::MakeConstSpan(e.tokens).subspan(0, half)).ok());
  std::vector<float> last;
  for (size_t t = half; t < e.tokens.size(); ++t) {
    ModelState* states[] = {split->get()};
    auto logits = backend->StepBatch(states, {e.tokens[t]});
    ASSERT_TRUE(logits.ok());
    last = (*logits)[0];
  }
  // Same arithmetic up to the order of sums inside the matrix products.
  EXPECT_LE(RelativeError(last, *all), 1e-5);
  EXPECT_EQ((*split)->position(), (*whole)->position());
}

TEST(Rwkv7BackendTest, StepBatchMatchesSeparateSteps) {
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {300, 7}, {42}};
  const std::vector<int32_t> next = {5, 6, 7};
  std::vector<std::unique_ptr<ModelState>> batched, single;
  std::vector<ModelState*> pointers;
  for (const auto& prompt : prompts) {
    batched.push_back(*backend->NewState());
    single.push_back(*backend->NewState());
    ASSERT_TRUE(backend->Feed(*batched.back(), prompt).ok());
    ASSERT_TRUE(backend->Feed(*single.back(), prompt).ok());
    pointers.push_back(batched.back().get());
  }
  auto together = backend->StepBatch(pointers, next);
  ASSERT_TRUE(together.ok()) << together.status();
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto alone = backend->Feed(*single[i], {next[i]});
    ASSERT_TRUE(alone.ok());
    EXPECT_LE(RelativeError((*together)[i], *alone), 1e-5) << "state " << i;
  }
}

TEST(Rwkv7BackendTest, RejectsBadTokensAndStates) {
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  auto state = *backend->NewState();
  EXPECT_EQ(backend->Feed(*state, {}).status().code(), absl::StatusCode::kInvalidArgument);
  auto bad = backend->Feed(*state, {1, 320});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("320"), std::string::npos);
  ModelState* twice[] = {state.get(), state.get()};
  EXPECT_EQ(backend->StepBatch(twice, {1, 2}).status().code(), absl::StatusCode::kInvalidArgument);
  auto other = OpenOrDie(SmallFixture());
  auto foreign = *other->NewState();
  EXPECT_EQ(backend->Feed(*foreign, {1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state->position(), 0);
}

TEST(Rwkv7BackendTest, ViewExposesTheStateAndWritesTakeEffect) {
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  const ModelInfo& info = backend->Info();
  EXPECT_EQ(info.architecture, "rwkv7");
  EXPECT_EQ(info.n_layer, 3);
  EXPECT_EQ(info.d_model, 128);
  EXPECT_EQ(info.vocab_size, 320);
  auto state = *backend->NewState();
  ASSERT_TRUE(backend->Feed(*state, {10, 20, 30}).ok());
  auto copy = state->Clone();
  auto view = backend->View(*state);
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->tensors.size(), 9u);
  EXPECT_EQ(view->tensors[0].name, "layers.0.wkv");
  EXPECT_EQ(view->tensors[0].kind, "wkv");
  EXPECT_EQ(view->tensors[0].shape, (std::vector<int64_t>{2, 64, 64}));
  EXPECT_EQ(view->tensors[1].kind, "shift_att");
  EXPECT_EQ(view->tensors[2].kind, "shift_ffn");
  EXPECT_EQ(view->tensors[8].name, "layers.2.shift_ffn");
  double energy = 0.0;
  for (int i = 0; i < 2 * 64 * 64; ++i) energy += std::abs(view->tensors[0].data[i]);
  EXPECT_GT(energy, 0.0);
  // Clearing layer 0's matrix state changes what comes next; the clone is untouched.
  std::fill_n(view->tensors[0].data, 2 * 64 * 64, 0.0f);
  auto changed = backend->Feed(*state, {40});
  auto kept = backend->Feed(*copy, {40});
  ASSERT_TRUE(changed.ok() && kept.ok());
  EXPECT_GT(RelativeError(*changed, *kept), 1e-3);
}

TEST(Rwkv7BackendTest, StateRoundTripContinuesIdentically) {
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  auto state = *backend->NewState();
  ASSERT_TRUE(backend->Feed(*state, {3, 1, 4, 1, 5, 9, 2, 6}).ok());
  auto bytes = backend->SerializeState(*state);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto restored = backend->DeserializeState(*bytes);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ((*restored)->position(), 8);
  auto a = backend->Feed(*state, {5, 3, 5});
  auto b = backend->Feed(**restored, {5, 3, 5});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(Rwkv7BackendTest, DeserializeRefusesCorruptAndForeignStates) {
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  auto state = *backend->NewState();
  ASSERT_TRUE(backend->Feed(*state, {7, 8, 9}).ok());
  std::string bytes = *backend->SerializeState(*state);
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  EXPECT_EQ(backend->DeserializeState(flipped).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(backend->DeserializeState(bytes.substr(0, bytes.size() - 5)).status().code(),
            absl::StatusCode::kDataLoss);
  // A model with one weight changed has another fingerprint and refuses the state.
  Rwkv7Weights weights = backend->weights();
  weights.layers[1].k_a[0] += 0.5f;
  auto other = Rwkv7Backend::FromWeights(std::move(weights), nullptr, "rwkv7:changed");
  EXPECT_NE(other->Info().fingerprint, backend->Info().fingerprint);
  EXPECT_EQ(other->DeserializeState(bytes).status().code(), absl::StatusCode::kFailedPrecondition);
}

// The child half of StateRoundTripAcrossProcesses: feeds a prompt in this process and writes
// the serialised state where the parent asked.
TEST(Rwkv7StateChild, WritesStateForParent) {
  const char* out = std::getenv("LLIVE_RWKV7_STATE_OUT");
  if (out == nullptr) {
    GTEST_SKIP() << "runs only as the child process of StateRoundTripAcrossProcesses";
  }
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  auto state = *backend->NewState();
  ASSERT_TRUE(backend->Feed(*state, {11, 12, 13, 14, 15}).ok());
  std::ofstream(out, std::ios::binary) << *backend->SerializeState(*state);
}

TEST(Rwkv7BackendTest, StateRoundTripAcrossProcesses) {
  testing::TempDir dir;
  const std::string path = dir.File("state.bin");
  testing::ProcessResult child =
      testing::RunProcess({"/proc/self/exe", "--gtest_filter=Rwkv7StateChild.WritesStateForParent"},
                          {"LLIVE_RWKV7_STATE_OUT=" + path});
  ASSERT_EQ(child.exit_code, 0) << child.out << child.err;
  std::stringstream bytes;
  bytes << std::ifstream(path, std::ios::binary).rdbuf();
  ASSERT_FALSE(bytes.str().empty());
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  auto restored = backend->DeserializeState(bytes.str());
  ASSERT_TRUE(restored.ok()) << restored.status();
  auto here = *backend->NewState();
  ASSERT_TRUE(backend->Feed(*here, {11, 12, 13, 14, 15}).ok());
  auto a = backend->Feed(**restored, {16, 17});
  auto b = backend->Feed(*here, {16, 17});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(Rwkv7BackendTest, GgufExportLoadsBackIdentically) {
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  ASSERT_NE(backend->tokenizer(), nullptr);
  testing::TempDir dir;
  const std::string path = dir.File("small.gguf");
  ASSERT_TRUE(
      WriteRwkv7Gguf(backend->weights(), backend->tokenizer(), path, DType::kF32, "small").ok());
  auto gguf = OpenOrDie(path);
  ASSERT_NE(gguf, nullptr);
  EXPECT_EQ(gguf->Info().fingerprint, backend->Info().fingerprint);
  const Expected e = ReadExpected(SmallFixture());
  auto a = *backend->NewState();
  auto b = *gguf->NewState();
  EXPECT_EQ(*backend->Feed(*a, e.tokens), *gguf->Feed(*b, e.tokens));
  // A state made with the Hugging Face folder continues in the GGUF model.
  auto restored = gguf->DeserializeState(*backend->SerializeState(*a));
  EXPECT_TRUE(restored.ok()) << restored.status();
  ASSERT_NE(gguf->tokenizer(), nullptr);
  const std::string text = "\tHello, World!\n ST";
  EXPECT_EQ(*gguf->Tokenize(text), *backend->Tokenize(text));
}

TEST(Rwkv7BackendTest, EscapesTokensAsLlamaCppReadsThem) {
  EXPECT_EQ(EscapeRwkvToken("ab c"), "ab c");
  EXPECT_EQ(EscapeRwkvToken("\t\n\r\\"), "\\t\\n\\r\\\\");
  EXPECT_EQ(EscapeRwkvToken(std::string("\x00\x7f\xe3", 3)), "\\x00\\x7f\\xe3");
  EXPECT_EQ(EscapeRwkvToken("'\""), "'\"");
}

TEST(Rwkv7BackendTest, GreedyGenerateFollowsArgmax) {
  auto backend = OpenOrDie(SmallFixture());
  ASSERT_NE(backend, nullptr);
  GenerateRequest request;
  request.prompt = "The cat";
  request.temperature = 0.0f;
  request.max_tokens = 12;
  auto response = backend->Generate(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->backend, "rwkv7");
  // The same continuation by hand: argmax after each token.
  auto state = *backend->NewState();
  std::vector<float> logits = *backend->Feed(*state, *backend->Tokenize("The cat"));
  std::vector<int32_t> generated;
  for (int i = 0; i < response->usage.completion_tokens; ++i) {
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (next == 0) break;
    generated.push_back(next);
    logits = *backend->Feed(*state, {next});
  }
  // The loop streams whole UTF-8 code points, invalid bytes as U+FFFD.
  std::string raw = backend->Detokenize(generated);
  EXPECT_EQ(response->text, TakeCompleteUtf8(raw, /*flush=*/true));
}

// Writes a copy of the small fixture with `edit` applied to its tensors (as F32).
std::string BrokenCopy(testing::TempDir& dir,
                       const std::function<void(std::string& name, std::vector<int64_t>& shape,
                                                std::vector<float>& values, bool& keep)>& edit,
                       const std::string& config_patch = "") {
  auto checkpoint = Checkpoint::Open(SmallFixture());
  EXPECT_TRUE(checkpoint.ok());
  testing::SafetensorsBuilder builder;
  for (const TensorRef* tensor : (*checkpoint)->Tensors()) {
    std::string name = tensor->name;
    std::vector<int64_t> shape = tensor->shape;
    std::vector<float> values = *(*checkpoint)->ReadFloat32(*tensor);
    bool keep = true;
    edit(name, shape, values, keep);
    if (keep) builder.AddFloats(name, shape, values);
  }
  const std::string folder = dir.File("broken");
  std::filesystem::create_directories(folder);
  builder.Write(folder + "/model.safetensors");
  nlohmann::json config = (*checkpoint)->config();
  if (!config_patch.empty()) config.merge_patch(nlohmann::json::parse(config_patch));
  std::ofstream(folder + "/config.json") << config.dump();
  return folder;
}

TEST(Rwkv7CheckpointTest, RefusesMissingTensorNamingIt) {
  testing::TempDir dir;
  const std::string folder =
      BrokenCopy(dir, [](std::string& name, std::vector<int64_t>&, std::vector<float>&,
                         bool& keep) { keep = name != "model.layers.2.attn.k_k"; });
  auto backend = Rwkv7Backend::Open(folder);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(backend.status().message().find("model.layers.2.attn.k_k"), std::string::npos)
      << backend.status();
}

TEST(Rwkv7CheckpointTest, RefusesWrongShapeNamingIt) {
  testing::TempDir dir;
  const std::string folder = BrokenCopy(
      dir, [](std::string& name, std::vector<int64_t>& shape, std::vector<float>& values, bool&) {
        if (name == "model.layers.1.ffn.key.weight") {
          shape = {255, 128};
          values.resize(255 * 128);
        }
      });
  auto backend = Rwkv7Backend::Open(folder);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(backend.status().message().find("model.layers.1.ffn.key.weight"), std::string::npos)
      << backend.status();
  EXPECT_NE(backend.status().message().find("[256, 128]"), std::string::npos);
}

TEST(Rwkv7CheckpointTest, RefusesNonFiniteWeightNamingIt) {
  testing::TempDir dir;
  const std::string folder = BrokenCopy(
      dir, [](std::string& name, std::vector<int64_t>&, std::vector<float>& values, bool&) {
        if (name == "model.layers.0.attn.o_proj.weight") values[77] = std::nanf("");
      });
  auto backend = Rwkv7Backend::Open(folder);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(backend.status().message().find("model.layers.0.attn.o_proj.weight"), std::string::npos)
      << backend.status();
}

TEST(Rwkv7CheckpointTest, RefusesAnotherArchitecture) {
  testing::TempDir dir;
  const std::string folder = BrokenCopy(
      dir, [](std::string&, std::vector<int64_t>&, std::vector<float>&, bool&) {},
      R"({"model_type": "mamba"})");
  auto backend = Rwkv7Backend::Open(folder);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(backend.status().message().find("model_type"), std::string::npos) << backend.status();
}

TEST(Rwkv7CheckpointTest, LoadsF32CopyToTheSameLogits) {
  testing::TempDir dir;
  const std::string folder =
      BrokenCopy(dir, [](std::string&, std::vector<int64_t>&, std::vector<float>&, bool&) {});
  auto copy = OpenOrDie(folder);
  auto original = OpenOrDie(SmallFixture());
  ASSERT_TRUE(copy != nullptr && original != nullptr);
  EXPECT_EQ(copy->Info().fingerprint, original->Info().fingerprint);
}

}  // namespace
}  // namespace llive::backends::native
