// The bridge on a real backend: the fit report (with its three baselines) and the effect of a
// write-back on the model, next to a random change of equal norm.
//
//   bridge_effect MODEL --corpus FILE [--permutations N] [--prompts K] [--threads T]
// MODEL: mamba:PATH, rwkv7:PATH, or mamba-random:TOKENIZER (a Mamba-1 of d_model 128,
// 4 layers, d_state 16 with RandomMambaWeights seed 1 and the tokenizer file TOKENIZER).
//
// Effect table: for K held-out prompts and each of the ten factors, the state after the
// prompt is written towards the opposite side of the factor (target 0.9 where the readout is
// below 0.5, else 0.1) at strengths 0, 0.25, 0.5 and 1. (a) KL(p_before || p_after) of the
// next-token distributions after one more token of ordinary text, next to the same for a
// random standardised-feature change of the same norm; (b) at strength 1, the share of the
// written logit shift still in the readout after 16 and 64 tokens of ordinary text fed to both
// the edited and the unedited state.
#include <cblas.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "backends/native/mamba_backend.h"
#include "backends/native/mamba_random.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native/tokenizer_factory.h"
#include "bridge/bridge_fit.h"
#include "bridge/random_twin.h"
#include "bridge/thought_bridge.h"

namespace {

using llive::backends::ModelState;
using llive::backends::StatefulBackend;
namespace bridge = llive::bridge;
namespace native = llive::backends::native;

// Ordinary text for the persistence measurement and the token after the write.
constexpr const char* kOrdinaryText =
    " The market opens at eight on Saturdays. Farmers bring apples, cheese and bread from the "
    "villages nearby, and the square fills up quickly. By noon most stalls are packed away, the "
    "pigeons come back, and the cafe on the corner puts its chairs out again. In winter the "
    "market moves into the old hall beside the station, where it is warmer.";

int Fail(const std::string& message) {
  std::fprintf(stderr, "bridge_effect: %s\n", message.c_str());
  return 2;
}

absl::StatusOr<std::unique_ptr<StatefulBackend>> OpenModel(const std::string& spec) {
  if (absl::StartsWith(spec, "mamba-random:")) {
    absl::StatusOr<std::unique_ptr<native::Tokenizer>> tokenizer =
        native::LoadTokenizer(spec.substr(13));
    if (!tokenizer.ok()) return tokenizer.status();
    native::MambaConfig config;
    config.d_model = 128;
    config.n_layer = 4;
    config.d_state = 16;
    config.d_inner = 256;
    config.d_conv = 4;
    config.dt_rank = 8;
    config.vocab_size = (*tokenizer)->vocab_size();
    native::RandomMambaOptions options;
    options.seed = 1;
    auto model =
        native::MambaModel::FromWeights(config, native::RandomMambaWeights(config, options));
    if (!model.ok()) return model.status();
    return std::unique_ptr<StatefulBackend>(
        native::MambaBackend::FromModel(*std::move(model), *std::move(tokenizer), spec));
  }
  if (absl::StartsWith(spec, "mamba:")) {
    auto backend = native::MambaBackend::Open(spec.substr(6));
    if (!backend.ok()) return backend.status();
    return std::unique_ptr<StatefulBackend>(*std::move(backend));
  }
  if (absl::StartsWith(spec, "rwkv7:")) {
    auto backend = native::Rwkv7Backend::Open(spec.substr(6));
    if (!backend.ok()) return backend.status();
    return std::unique_ptr<StatefulBackend>(*std::move(backend));
  }
  return absl::InvalidArgumentError(
      "MODEL must be mamba:PATH, rwkv7:PATH or mamba-random:TOKENIZER");
}

std::vector<double> Softmax(const std::vector<float>& logits) {
  double top = logits[0];
  for (float value : logits) top = std::max<double>(top, value);
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(logits[i] - top);
  for (double& value : p) value /= sum;
  return p;
}

double KullbackLeibler(const std::vector<float>& before, const std::vector<float>& after) {
  const std::vector<double> p = Softmax(before), q = Softmax(after);
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] > 0) kl += p[i] * (std::log(p[i]) - std::log(std::max(q[i], 1e-300)));
  }
  return kl;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return Fail(
        "usage: bridge_effect MODEL --corpus FILE [--permutations N] [--prompts K] [--threads T]");
  const std::string model_spec = argv[1];
  std::string corpus_path;
  int permutations = 100, prompts = 12, threads = 2;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--corpus" && i + 1 < argc)
      corpus_path = argv[++i];
    else if (arg == "--permutations" && i + 1 < argc)
      permutations = std::atoi(argv[++i]);
    else if (arg == "--prompts" && i + 1 < argc)
      prompts = std::atoi(argv[++i]);
    else if (arg == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else
      return Fail("unknown option " + arg);
  }
  openblas_set_num_threads(threads);
  auto corpus = bridge::LoadExemplars(corpus_path);
  if (!corpus.ok()) return Fail(std::string(corpus.status().message()));
  auto backend = OpenModel(model_spec);
  if (!backend.ok()) return Fail(std::string(backend.status().message()));
  auto twin = bridge::MakeRandomTwin(**backend, 2);
  if (!twin.ok()) return Fail(std::string(twin.status().message()));

  const auto start = std::chrono::steady_clock::now();
  bridge::BridgeFitOptions options;
  options.probes.permutations = permutations;
  auto fit = bridge::FitBridge(**backend, *corpus, options, twin->get());
  if (!fit.ok()) return Fail(std::string(fit.status().message()));
  std::printf(
      "%s\nfit took %.1f s (features of %zu texts through the model and its random twin, "
      "probes, %d shuffles, baselines)\n\n",
      bridge::FormatFitReport(fit->report).c_str(), Seconds(start), corpus->size(), permutations);
  auto made = bridge::ThoughtBridge::Create(fit->params);
  if (!made.ok()) return Fail(std::string(made.status().message()));
  const bridge::ThoughtBridge& thought = *made;

  // Held-out prompts, spread over the factors and languages.
  auto split = bridge::SplitByGroup(*corpus, options.probes);
  std::vector<int64_t> chosen;
  for (size_t k = 0; k < split->held_out.size() && static_cast<int>(chosen.size()) < prompts;
       k += std::max<size_t>(1, split->held_out.size() / prompts)) {
    chosen.push_back(split->held_out[k]);
  }
  auto ordinary = (*backend)->Tokenize(kOrdinaryText);
  if (!ordinary.ok() || ordinary->size() < 65) return Fail("the ordinary text needs 65 tokens");

  const double strengths[] = {0.0, 0.25, 0.5, 1.0};
  double kl_write[4] = {}, kl_random[4] = {}, norm_sum[4] = {};
  double remaining_16 = 0, remaining_64 = 0, written_shift = 0;
  int writes = 0;
  std::mt19937_64 random(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int64_t index : chosen) {
    auto tokens = (*backend)->Tokenize((*corpus)[index].text);
    auto base = *(*backend)->NewState();
    if (!(*backend)->Feed(*base, *tokens).ok()) return Fail("feed failed");
    auto view = *(*backend)->View(*base);
    const bridge::FactorLogits before = *thought.ReadLogits(view);
    // The unedited continuation: next-token logits after one token, readouts after 16 and 64.
    auto base_next = base->Clone();
    const std::vector<float> base_logits =
        *(*backend)->Feed(*base_next, absl::MakeConstSpan(ordinary->data(), 1));
    auto base_long = base->Clone();
    (void)(*backend)->Feed(*base_long, absl::MakeConstSpan(ordinary->data(), 16));
    const bridge::FactorLogits base_16 = *thought.ReadLogits(*(*backend)->View(*base_long));
    (void)(*backend)->Feed(*base_long, absl::MakeConstSpan(ordinary->data() + 16, 48));
    const bridge::FactorLogits base_64 = *thought.ReadLogits(*(*backend)->View(*base_long));
    for (int f = 0; f < bridge::kFactorCount; ++f) {
      bridge::WriteRequest request;
      request.factors = {f};
      request.target[f] = before[f] < 0 ? 0.9f : 0.1f;
      for (int s = 0; s < 4; ++s) {
        request.strength = strengths[s];
        auto edited = base->Clone();
        auto edited_view = *(*backend)->View(*edited);
        auto result = thought.Write(edited_view, request);
        if (!result.ok()) return Fail(std::string(result.status().message()));
        // A random change of the same norm in the same standardised space.
        std::vector<double> direction(thought.params().layout.size());
        double norm = 0;
        for (double& value : direction) {
          value = normal(random);
          norm += value * value;
        }
        for (double& value : direction) value *= result->standardized_change_norm / std::sqrt(norm);
        auto randomized = base->Clone();
        if (!thought.ApplyChange(direction, *(*backend)->View(*randomized)).ok())
          return Fail("apply");
        norm_sum[s] += result->standardized_change_norm;
        const std::vector<float> edited_logits =
            *(*backend)->Feed(*edited, absl::MakeConstSpan(ordinary->data(), 1));
        const std::vector<float> random_logits =
            *(*backend)->Feed(*randomized, absl::MakeConstSpan(ordinary->data(), 1));
        for (float value : edited_logits) {
          if (!std::isfinite(value)) return Fail("edited state decodes to non-finite logits");
        }
        kl_write[s] += KullbackLeibler(base_logits, edited_logits);
        kl_random[s] += KullbackLeibler(base_logits, random_logits);
        if (s == 3) {
          const double shift = result->planned[f] - result->before[f];
          (void)(*backend)->Feed(*edited, absl::MakeConstSpan(ordinary->data() + 1, 15));
          const double at_16 = (*thought.ReadLogits(*(*backend)->View(*edited)))[f] - base_16[f];
          (void)(*backend)->Feed(*edited, absl::MakeConstSpan(ordinary->data() + 16, 48));
          const double at_64 = (*thought.ReadLogits(*(*backend)->View(*edited)))[f] - base_64[f];
          remaining_16 += at_16 / shift;
          remaining_64 += at_64 / shift;
          written_shift += std::abs(shift);
          ++writes;
        }
      }
    }
  }
  const int per_strength = static_cast<int>(chosen.size()) * bridge::kFactorCount;
  std::printf("Effect of write-back on %s: %zu held-out prompts x 10 factors\n\n",
              model_spec.c_str(), chosen.size());
  std::printf(
      "| strength | mean |dz| (standardised) | KL(before || after), write | KL, random direction "
      "of equal norm |\n|---|---|---|---|\n");
  for (int s = 0; s < 4; ++s) {
    std::printf("| %.2f | %.3f | %.3g | %.3g |\n", strengths[s], norm_sum[s] / per_strength,
                kl_write[s] / per_strength, kl_random[s] / per_strength);
  }
  std::printf(
      "\nPersistence at strength 1 (mean written logit shift %.3f): share of the shift left "
      "after 16 tokens %.3f, after 64 tokens %.3f\n",
      written_shift / writes, remaining_16 / writes, remaining_64 / writes);
  std::printf("total %.1f s\n", Seconds(start));
  return 0;
}
