// The bridge on a real backend: the fit report (with its three baselines) and the effect of a
// write-back on the model, next to a random change of equal norm.
//
//   bridge_effect MODEL --corpus FILE [--permutations N] [--prompts K] [--threads T]
//                 [--kinds K,..] [--layers L,..] [--max-features N] [--no-twin]
//                 [--generate G] [--amplify A,..] [--metric euclidean|covariance]
//                 [--twin-seed S]
// MODEL: mamba:PATH, rwkv7:PATH, or mamba-random:TOKENIZER (a Mamba-1 of d_model 128,
// 4 layers, d_state 16 with RandomMambaWeights seed 1 and the tokenizer file TOKENIZER).
// --kinds/--layers/--max-features choose the state features (FeatureSpec; default ssm,wkv, all
// layers, 16,384); --no-twin skips the random-weights baseline of the fit; --twin-seed draws
// that baseline's weights with another seed (default 2), to see how much the baseline itself
// varies with the draw.
//
// Effect table: for K held-out prompts and each of the ten factors, the state after the
// prompt is written towards the opposite side of the factor (target 0.9 where the readout is
// below 0.5, else 0.1) at strengths 0, 0.25, 0.5 and 1. (a) KL(p_before || p_after) of the
// next-token distributions after one more token of ordinary text, next to the same for a
// random standardised-feature change of the same norm and for a "data direction" of the same
// norm (the standardised difference between this prompt's state and another held-out
// prompt's: a direction real text moves the state along); (b) at strength 1, the share of the
// written logit shift still in the readout after 16 and 64 tokens of ordinary text fed to both
// the edited and the unedited state; (c) the size of the change against the state: |dx| over
// |x| of the selected numbers, and |dz| over the standardised distance between two texts.
//
// Behaviour table: the write at strength 1, its change multiplied by each A of --amplify
// (default 1,4,16: beyond 1 the readout overshoots the target, which tests whether the
// direction means anything to the model at all), and a random direction of the same norm.
// From each edited state the model continues the prompt greedily for G tokens (default 32);
// the continuation alone is fed into a fresh state and read out. --metric covariance plans the
// write as the change of least Mahalanobis length under the training states' covariance
// instead of the least Euclidean length (the same readout constraints). Reported: the share of
// continuations that differ from the unedited one, and the mean shift of the written factor's
// readout logit on the continuation, signed so that positive is towards the target.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "backends/backend_spec.h"
#include "backends/native/mamba_backend.h"
#include "backends/native/mamba_random.h"
#include "backends/native/mamba_registration.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native/tokenizer_factory.h"
#include "backends/native_backend_registry.h"
#include "bridge/bridge_fit.h"
#include "bridge/dense_matrix.h"
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
  // mamba:PATH and rwkv7:PATH through the factories the CLI uses.
  native::RegisterMambaBackend();
  native::RegisterRwkv7Backend();
  absl::StatusOr<llive::backends::BackendSpec> parsed = llive::backends::ParseBackendSpec(spec);
  if (!parsed.ok() || (parsed->kind != llive::backends::BackendSpec::Kind::kMamba &&
                       parsed->kind != llive::backends::BackendSpec::Kind::kRwkv7)) {
    return absl::InvalidArgumentError(
        "MODEL must be mamba:PATH, rwkv7:PATH or mamba-random:TOKENIZER");
  }
  return llive::backends::CreateNativeBackend(*parsed);
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

// Greedy continuation of `state` for `count` tokens, the first chosen from `logits`.
absl::StatusOr<std::vector<int32_t>> GreedyTokens(StatefulBackend& backend, ModelState& state,
                                                  std::vector<float> logits, int count) {
  std::vector<int32_t> tokens;
  for (int i = 0; i < count; ++i) {
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    tokens.push_back(next);
    if (i + 1 == count) break;
    absl::StatusOr<std::vector<float>> more = backend.Feed(state, absl::MakeConstSpan(&next, 1));
    if (!more.ok()) return more.status();
    logits = *std::move(more);
  }
  return tokens;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return Fail(
        "usage: bridge_effect MODEL --corpus FILE [--permutations N] [--prompts K] [--threads T] "
        "[--kinds K,..] [--layers L,..] [--max-features N] [--no-twin] [--generate G] "
        "[--amplify A,..] [--twin-seed S]");
  const std::string model_spec = argv[1];
  std::string corpus_path;
  int permutations = 100, prompts = 12, threads = 2, generate = 32;
  bool use_twin = true;
  uint64_t twin_seed = 2;
  bridge::BridgeFitOptions options;
  std::vector<double> amplify = {1, 4, 16};
  bool covariance_metric = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--corpus" && has_value) {
      corpus_path = argv[++i];
    } else if (arg == "--permutations" && has_value) {
      permutations = std::atoi(argv[++i]);
    } else if (arg == "--prompts" && has_value) {
      prompts = std::atoi(argv[++i]);
    } else if (arg == "--threads" && has_value) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--kinds" && has_value) {
      options.features.kinds = absl::StrSplit(argv[++i], ',', absl::SkipEmpty());
    } else if (arg == "--layers" && has_value) {
      for (absl::string_view layer : absl::StrSplit(argv[++i], ',', absl::SkipEmpty())) {
        options.features.layers.push_back(std::atoi(std::string(layer).c_str()));
      }
    } else if (arg == "--max-features" && has_value) {
      options.features.max_features = std::atoll(argv[++i]);
    } else if (arg == "--metric" && has_value) {
      const std::string metric = argv[++i];
      if (metric != "euclidean" && metric != "covariance") {
        return Fail("--metric is euclidean or covariance");
      }
      covariance_metric = metric == "covariance";
    } else if (arg == "--no-twin") {
      use_twin = false;
    } else if (arg == "--twin-seed" && has_value) {
      twin_seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--generate" && has_value) {
      generate = std::atoi(argv[++i]);
    } else if (arg == "--amplify" && has_value) {
      amplify.clear();
      for (absl::string_view value : absl::StrSplit(argv[++i], ',', absl::SkipEmpty())) {
        amplify.push_back(std::atof(std::string(value).c_str()));
      }
    } else {
      return Fail("unknown option " + arg);
    }
  }
  if (prompts < 1) return Fail("--prompts must be at least 1 (the effect tables need a prompt)");
  openblas_set_num_threads(threads);
  auto corpus = bridge::LoadExemplars(corpus_path);
  if (!corpus.ok()) return Fail(std::string(corpus.status().message()));
  auto backend = OpenModel(model_spec);
  if (!backend.ok()) return Fail(std::string(backend.status().message()));
  std::unique_ptr<StatefulBackend> twin;
  if (use_twin) {
    auto made_twin = bridge::MakeRandomTwin(**backend, twin_seed);
    if (!made_twin.ok()) return Fail(std::string(made_twin.status().message()));
    twin = *std::move(made_twin);
  }

  const auto start = std::chrono::steady_clock::now();
  options.probes.permutations = permutations;
  auto fit = bridge::FitBridge(**backend, *corpus, options, twin.get());
  if (!fit.ok()) return Fail(std::string(fit.status().message()));
  std::printf(
      "%s\nfit took %.1f s (features of %zu texts through the model%s, probes, %d shuffles, "
      "baselines)\n\n",
      bridge::FormatFitReport(fit->report).c_str(), Seconds(start), corpus->size(),
      twin ? " and its random twin" : "", permutations);
  auto made = bridge::ThoughtBridge::Create(fit->params);
  if (!made.ok()) return Fail(std::string(made.status().message()));
  const bridge::ThoughtBridge& thought = *made;
  StatefulBackend& model = **backend;

  // Held-out prompts, spread over the factors and languages.
  auto split = bridge::SplitByGroup(*corpus, options.probes);
  std::vector<int64_t> chosen;
  for (size_t k = 0; k < split->held_out.size() && static_cast<int>(chosen.size()) < prompts;
       k += std::max<size_t>(1, split->held_out.size() / prompts)) {
    chosen.push_back(split->held_out[k]);
  }
  // With --metric covariance the write is the change of least Mahalanobis length under the
  // training states' covariance S: dz = S Wᵀ (W S Wᵀ)⁻¹ r, spending its norm along the
  // directions real texts move the state; u_f = S w_f is computed here from the training rows.
  std::vector<std::vector<double>> natural(bridge::kFactorCount);
  if (covariance_metric) {
    std::vector<bridge::Exemplar> train;
    for (int64_t index : split->train) train.push_back((*corpus)[index]);
    auto train_tokens = bridge::TokenizeCorpus(model, train);
    if (!train_tokens.ok()) return Fail(std::string(train_tokens.status().message()));
    auto raw = bridge::CorpusStateFeatures(model, *train_tokens, thought.params().layout);
    if (!raw.ok()) return Fail(std::string(raw.status().message()));
    const bridge::Standardizer& standardizer = thought.params().standardizer;
    std::vector<double> mean(raw->cols, 0.0);
    for (int64_t r = 0; r < raw->rows; ++r) {
      double* row = raw->row(r);
      for (int64_t j = 0; j < raw->cols; ++j) {
        row[j] = (row[j] - standardizer.mean[j]) / standardizer.scale[j];
        mean[j] += row[j] / raw->rows;
      }
    }
    for (int64_t r = 0; r < raw->rows; ++r) {
      for (int64_t j = 0; j < raw->cols; ++j) raw->row(r)[j] -= mean[j];
    }
    for (int f = 0; f < bridge::kFactorCount; ++f) {
      const std::vector<double>& w = thought.params().probes[f].weights;
      std::vector<double> projected(raw->rows, 0.0);  // Z w
      for (int64_t r = 0; r < raw->rows; ++r) {
        for (int64_t j = 0; j < raw->cols; ++j) projected[r] += raw->row(r)[j] * w[j];
      }
      natural[f].assign(raw->cols, 0.0);  // Zᵀ Z w / n
      for (int64_t r = 0; r < raw->rows; ++r) {
        for (int64_t j = 0; j < raw->cols; ++j) {
          natural[f][j] += raw->row(r)[j] * projected[r] / raw->rows;
        }
      }
    }
  }
  auto plan = [&](const std::vector<double>& z,
                  const bridge::WriteRequest& request) -> absl::StatusOr<std::vector<double>> {
    if (!covariance_metric) return thought.PlanChange(z, request);
    const bridge::FactorLogits current = thought.LogitsOf(z);
    std::vector<double> residual(bridge::kFactorCount, 0.0);
    for (int f : request.factors) {
      const double target = std::clamp<double>(request.target[f], 1e-6, 1 - 1e-6);
      residual[f] = std::log(target / (1 - target)) - current[f];
    }
    bridge::DenseMatrix gram(bridge::kFactorCount, bridge::kFactorCount);
    for (int a = 0; a < bridge::kFactorCount; ++a) {
      for (int b = 0; b < bridge::kFactorCount; ++b) {
        const std::vector<double>& w = thought.params().probes[a].weights;
        double sum = 0;
        for (size_t j = 0; j < w.size(); ++j) sum += w[j] * natural[b][j];
        gram.at(a, b) = sum;
      }
    }
    for (int a = 0; a < bridge::kFactorCount; ++a) {  // symmetrise the rounding
      for (int b = 0; b < a; ++b)
        gram.at(a, b) = gram.at(b, a) = (gram.at(a, b) + gram.at(b, a)) / 2;
    }
    auto multipliers = bridge::SolveSymmetricPositiveDefinite(std::move(gram), residual);
    if (!multipliers.ok()) return multipliers.status();
    std::vector<double> change(z.size(), 0.0);
    for (int f = 0; f < bridge::kFactorCount; ++f) {
      for (size_t j = 0; j < change.size(); ++j) {
        change[j] += request.strength * (*multipliers)[f] * natural[f][j];
      }
    }
    return change;
  };

  auto ordinary = model.Tokenize(kOrdinaryText);
  if (!ordinary.ok() || ordinary->size() < 65) return Fail("the ordinary text needs 65 tokens");

  // Each chosen prompt's state after the prompt, its standardised features and last logits.
  struct Prompt {
    std::unique_ptr<ModelState> state;
    std::vector<double> z;
    std::vector<float> logits;
    double raw_norm = 0;  // |x| of the selected numbers
  };
  std::vector<Prompt> states;
  for (int64_t index : chosen) {
    Prompt prompt;
    auto tokens = model.Tokenize((*corpus)[index].text);
    prompt.state = *model.NewState();
    auto logits = model.Feed(*prompt.state, *tokens);
    if (!logits.ok()) return Fail("feed failed");
    prompt.logits = *std::move(logits);
    auto view = *model.View(*prompt.state);
    prompt.z = *thought.Standardized(view);
    std::vector<double> raw;
    if (!bridge::ExtractFeatures(thought.params().layout, view, raw).ok()) return Fail("extract");
    for (double value : raw) prompt.raw_norm += value * value;
    prompt.raw_norm = std::sqrt(prompt.raw_norm);
    states.push_back(std::move(prompt));
  }

  const double strengths[] = {0.0, 0.25, 0.5, 1.0};
  double kl_write[4] = {}, kl_random[4] = {}, kl_data[4] = {}, norm_sum[4] = {};
  double remaining_16 = 0, remaining_64 = 0, written_shift = 0, relative_raw = 0;
  double text_distance = 0;
  int writes = 0;
  const size_t amplifications = amplify.size();
  std::vector<double> moved_write(amplifications), moved_random(amplifications);
  std::vector<double> moved_write_squares(amplifications), moved_random_squares(amplifications);
  std::vector<int> differ_write(amplifications), differ_random(amplifications);
  int behaviour_cases = 0;
  std::mt19937_64 random(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  auto scaled = [](std::vector<double> direction, double norm) {
    double length = 0;
    for (double value : direction) length += value * value;
    length = std::sqrt(length);
    for (double& value : direction) value *= length > 0 ? norm / length : 0;
    return direction;
  };
  auto random_direction = [&](double norm) {
    std::vector<double> direction(thought.params().layout.size());
    for (double& value : direction) value = normal(random);
    return scaled(std::move(direction), norm);
  };
  // The readout logits of `tokens` fed into a fresh state.
  auto read_text = [&](const std::vector<int32_t>& tokens) {
    auto fresh = *model.NewState();
    (void)model.Feed(*fresh, tokens);
    return *thought.ReadLogits(*model.View(*fresh));
  };
  for (size_t p = 0; p < states.size(); ++p) {
    const Prompt& prompt = states[p];
    const Prompt& other = states[(p + 1) % states.size()];
    std::vector<double> data_direction(prompt.z.size());
    double distance = 0;
    for (size_t j = 0; j < prompt.z.size(); ++j) {
      data_direction[j] = other.z[j] - prompt.z[j];
      distance += data_direction[j] * data_direction[j];
    }
    text_distance += std::sqrt(distance);
    ModelState& base = *prompt.state;
    const bridge::FactorLogits before = thought.LogitsOf(prompt.z);
    // The unedited continuation: next-token logits after one token, readouts after 16 and 64.
    auto base_next = base.Clone();
    const std::vector<float> base_logits =
        *model.Feed(*base_next, absl::MakeConstSpan(ordinary->data(), 1));
    auto base_long = base.Clone();
    (void)model.Feed(*base_long, absl::MakeConstSpan(ordinary->data(), 16));
    const bridge::FactorLogits base_16 = *thought.ReadLogits(*model.View(*base_long));
    (void)model.Feed(*base_long, absl::MakeConstSpan(ordinary->data() + 16, 48));
    const bridge::FactorLogits base_64 = *thought.ReadLogits(*model.View(*base_long));
    // The unedited greedy continuation of the prompt and its readout as a text of its own.
    auto base_generating = base.Clone();
    absl::StatusOr<std::vector<int32_t>> base_text =
        GreedyTokens(model, *base_generating, prompt.logits, generate);
    if (!base_text.ok()) return Fail(std::string(base_text.status().message()));
    const bridge::FactorLogits base_text_logits = read_text(*base_text);
    for (int f = 0; f < bridge::kFactorCount; ++f) {
      bridge::WriteRequest request;
      request.factors = {f};
      request.target[f] = before[f] < 0 ? 0.9f : 0.1f;
      const double toward = before[f] < 0 ? 1.0 : -1.0;
      for (int s = 0; s < 4; ++s) {
        request.strength = strengths[s];
        auto change = plan(prompt.z, request);
        if (!change.ok()) return Fail(std::string(change.status().message()));
        double norm = 0;
        for (double value : *change) norm += value * value;
        norm = std::sqrt(norm);
        norm_sum[s] += norm;
        double kl[3] = {};
        const std::vector<double> changes[3] = {*change, random_direction(norm),
                                                scaled(data_direction, norm)};
        for (int c = 0; c < 3; ++c) {
          auto edited = base.Clone();
          if (!thought.ApplyChange(changes[c], *model.View(*edited)).ok()) return Fail("apply");
          const std::vector<float> edited_logits =
              *model.Feed(*edited, absl::MakeConstSpan(ordinary->data(), 1));
          for (float value : edited_logits) {
            if (!std::isfinite(value)) return Fail("edited state decodes to non-finite logits");
          }
          kl[c] = KullbackLeibler(base_logits, edited_logits);
        }
        kl_write[s] += kl[0];
        kl_random[s] += kl[1];
        kl_data[s] += kl[2];
        if (s != 3) continue;
        // Persistence of the written shift under ordinary text.
        {
          std::vector<double> edited_z = prompt.z;
          for (size_t j = 0; j < edited_z.size(); ++j) edited_z[j] += (*change)[j];
          const double shift = thought.LogitsOf(edited_z)[f] - before[f];
          auto edited = base.Clone();
          if (!thought.ApplyChange(*change, *model.View(*edited)).ok()) return Fail("apply");
          (void)model.Feed(*edited, absl::MakeConstSpan(ordinary->data(), 16));
          const double at_16 = (*thought.ReadLogits(*model.View(*edited)))[f] - base_16[f];
          (void)model.Feed(*edited, absl::MakeConstSpan(ordinary->data() + 16, 48));
          const double at_64 = (*thought.ReadLogits(*model.View(*edited)))[f] - base_64[f];
          remaining_16 += at_16 / shift;
          remaining_64 += at_64 / shift;
          written_shift += std::abs(shift);
          double dx = 0;
          for (size_t j = 0; j < change->size(); ++j) {
            const double raw = (*change)[j] * thought.params().standardizer.scale[j];
            dx += raw * raw;
          }
          relative_raw += std::sqrt(dx) / prompt.raw_norm;
          ++writes;
        }
        // Behaviour: what the model writes after the edit, read as a text of its own.
        for (size_t a = 0; a < amplifications; ++a) {
          std::vector<double> amplified = *change;
          for (double& value : amplified) value *= amplify[a];
          const std::vector<double> pair[2] = {amplified, random_direction(norm * amplify[a])};
          for (int c = 0; c < 2; ++c) {
            auto edited = base.Clone();
            if (!thought.ApplyChange(pair[c], *model.View(*edited)).ok()) return Fail("apply");
            absl::StatusOr<std::vector<int32_t>> text =
                GreedyTokens(model, *edited, prompt.logits, generate);
            if (!text.ok()) return Fail(std::string(text.status().message()));
            const double moved = toward * (read_text(*text)[f] - base_text_logits[f]);
            (c == 0 ? moved_write : moved_random)[a] += moved;
            (c == 0 ? moved_write_squares : moved_random_squares)[a] += moved * moved;
            (c == 0 ? differ_write : differ_random)[a] += *text != *base_text;
          }
        }
        ++behaviour_cases;
      }
    }
  }
  const int per_strength = static_cast<int>(chosen.size()) * bridge::kFactorCount;
  std::printf("Effect of write-back on %s: %zu held-out prompts x 10 factors, %s metric\n\n",
              model_spec.c_str(), chosen.size(),
              covariance_metric ? "training-state covariance" : "euclidean (minimal norm)");
  std::printf(
      "| strength | mean |dz| (standardised) | KL(before || after), write | KL, random direction "
      "of equal norm | KL, data direction of equal norm |\n|---|---|---|---|---|\n");
  for (int s = 0; s < 4; ++s) {
    std::printf("| %.2f | %.3f | %.3g | %.3g | %.3g |\n", strengths[s], norm_sum[s] / per_strength,
                kl_write[s] / per_strength, kl_random[s] / per_strength, kl_data[s] / per_strength);
  }
  std::printf(
      "\nPersistence at strength 1 (mean written logit shift %.3f): share of the shift left "
      "after 16 tokens %.3f, after 64 tokens %.3f\n",
      written_shift / writes, remaining_16 / writes, remaining_64 / writes);
  std::printf(
      "Size at strength 1: |dx| / |x| of the selected state numbers %.4f; |dz| %.3f against a "
      "mean standardised distance of %.3f between two held-out prompts' states (ratio %.4f)\n\n",
      relative_raw / writes, norm_sum[3] / per_strength, text_distance / states.size(),
      (norm_sum[3] / per_strength) / (text_distance / states.size()));
  std::printf(
      "Behaviour: %d-token greedy continuation after the write, read from a fresh state; shift "
      "of the written factor's logit, + = towards the target\n\n",
      generate);
  std::printf(
      "| change x | continuations changed, write | shift, write (± s.e.) | continuations "
      "changed, random | shift, random (± s.e.) |\n|---|---|---|---|---|\n");
  const double n = behaviour_cases;
  auto standard_error = [n](double sum, double squares) {
    const double mean = sum / n;
    return std::sqrt(std::max(0.0, squares / n - mean * mean) / std::max(1.0, n - 1));
  };
  for (size_t a = 0; a < amplifications; ++a) {
    std::printf("| %g | %.3f | %+.3f ± %.3f | %.3f | %+.3f ± %.3f |\n", amplify[a],
                differ_write[a] / n, moved_write[a] / n,
                standard_error(moved_write[a], moved_write_squares[a]), differ_random[a] / n,
                moved_random[a] / n, standard_error(moved_random[a], moved_random_squares[a]));
  }
  std::printf("total %.1f s\n", Seconds(start));
  return 0;
}
