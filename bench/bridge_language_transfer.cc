// Does a probe fitted on one language read the other? The exemplar corpus's minimal pairs
// share their topic words, so a probe can win on words; the words of English and Japanese texts
// are disjoint, so a probe fitted on the English texts that still separates the Japanese ones
// reads something beyond the words. Random recurrent states and the bag of words keep words
// only, so they mark the floor.
//
//   bridge_language_transfer MODEL --corpus FILE [--threads T]
// MODEL: mamba:PATH or rwkv7:PATH. For the model's state (default FeatureSpec), the same
// architecture with random weights (MakeRandomTwin, seed 2) and the bag of words: probes fitted
// (FitProbes, no shuffles) on the texts of one language, applied to every text of the other;
// AUC per factor (present = score >= 0.5) and the mean, both directions.
#include <cblas.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backends/backend_spec.h"
#include "backends/native/mamba_backend.h"
#include "backends/native/mamba_registration.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native_backend_registry.h"
#include "bridge/bag_of_words_baseline.h"
#include "bridge/bridge_fit.h"
#include "bridge/probe_fit.h"
#include "bridge/random_twin.h"

namespace {

using llive::backends::StatefulBackend;
namespace bridge = llive::bridge;
namespace native = llive::backends::native;

int Fail(const std::string& message) {
  std::fprintf(stderr, "bridge_language_transfer: %s\n", message.c_str());
  return 2;
}

absl::StatusOr<std::unique_ptr<StatefulBackend>> OpenModel(const std::string& spec) {
  // mamba:PATH and rwkv7:PATH through the factories the CLI uses.
  native::RegisterMambaBackend();
  native::RegisterRwkv7Backend();
  absl::StatusOr<llive::backends::BackendSpec> parsed = llive::backends::ParseBackendSpec(spec);
  if (!parsed.ok() || (parsed->kind != llive::backends::BackendSpec::Kind::kMamba &&
                       parsed->kind != llive::backends::BackendSpec::Kind::kRwkv7)) {
    return absl::InvalidArgumentError("MODEL must be mamba:PATH or rwkv7:PATH");
  }
  return llive::backends::CreateNativeBackend(*parsed);
}

// Rows of `features` and exemplars of `corpus` whose language is `lang`.
void Select(const bridge::DenseMatrix& features, const std::vector<bridge::Exemplar>& corpus,
            const std::string& lang, bridge::DenseMatrix& rows,
            std::vector<bridge::Exemplar>& texts) {
  std::vector<int64_t> chosen;
  for (size_t i = 0; i < corpus.size(); ++i) {
    if (corpus[i].lang == lang) chosen.push_back(static_cast<int64_t>(i));
  }
  rows = bridge::DenseMatrix(static_cast<int64_t>(chosen.size()), features.cols);
  texts.clear();
  for (size_t r = 0; r < chosen.size(); ++r) {
    std::copy(features.row(chosen[r]), features.row(chosen[r]) + features.cols,
              rows.row(static_cast<int64_t>(r)));
    texts.push_back(corpus[chosen[r]]);
  }
}

struct Transfer {
  std::vector<double> within;  // held-out AUC inside the fitted language (FitProbes' report)
  std::vector<double> across;  // AUC on every text of the other language
};

// Fits on `from`, applies to `to`. Errors of FitProbes.
absl::StatusOr<Transfer> FitAndTransfer(const bridge::DenseMatrix& features,
                                        const std::vector<bridge::Exemplar>& corpus,
                                        const std::string& from, const std::string& to) {
  bridge::DenseMatrix train_rows, test_rows;
  std::vector<bridge::Exemplar> train_texts, test_texts;
  Select(features, corpus, from, train_rows, train_texts);
  Select(features, corpus, to, test_rows, test_texts);
  bridge::ProbeOptions options;
  options.permutations = 0;
  absl::StatusOr<bridge::ProbeFit> fit = bridge::FitProbes(train_rows, train_texts, options);
  if (!fit.ok()) return fit.status();
  Transfer out;
  for (int f = 0; f < bridge::kFactorCount; ++f) {
    out.within.push_back(fit->reports[f].held_out.auc);
    const bridge::FactorProbe& probe = fit->probes[f];
    std::vector<double> predictions;
    std::vector<bool> labels;
    for (int64_t r = 0; r < test_rows.rows; ++r) {
      double logit = probe.bias;
      for (int64_t j = 0; j < test_rows.cols; ++j) {
        logit += probe.weights[j] * (test_rows.at(r, j) - fit->standardizer.mean[j]) /
                 fit->standardizer.scale[j];
      }
      predictions.push_back(logit);
      labels.push_back(test_texts[r].scores[f] >= options.present_threshold);
    }
    out.across.push_back(bridge::AreaUnderRoc(predictions, labels));
  }
  return out;
}

double Mean(const std::vector<double>& values) {
  double sum = 0;
  for (double value : values) sum += value;
  return sum / values.size();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Fail("usage: bridge_language_transfer MODEL --corpus FILE [--threads T]");
  const std::string model_spec = argv[1];
  std::string corpus_path;
  int threads = 1;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--corpus" && i + 1 < argc) {
      corpus_path = argv[++i];
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      return Fail("unknown option " + arg);
    }
  }
  openblas_set_num_threads(threads);
  auto corpus = bridge::LoadExemplars(corpus_path);
  if (!corpus.ok()) return Fail(std::string(corpus.status().message()));
  auto backend = OpenModel(model_spec);
  if (!backend.ok()) return Fail(std::string(backend.status().message()));
  auto twin = bridge::MakeRandomTwin(**backend, 2);
  if (!twin.ok()) return Fail(std::string(twin.status().message()));

  struct Source {
    std::string name;
    bridge::DenseMatrix features;
  };
  std::vector<Source> sources;
  // Both models are fed the model's token ids (the twin may have no tokenizer of its own).
  auto tokens = bridge::TokenizeCorpus(**backend, *corpus);
  if (!tokens.ok()) return Fail(std::string(tokens.status().message()));
  for (StatefulBackend* model : {backend->get(), twin->get()}) {
    auto layout = bridge::ResolveLayoutFor(*model, bridge::FeatureSpec{});
    if (!layout.ok()) return Fail(std::string(layout.status().message()));
    auto features = bridge::CorpusStateFeatures(*model, *tokens, *layout);
    if (!features.ok()) return Fail(std::string(features.status().message()));
    sources.push_back({model == backend->get() ? "state" : "random weights", *features});
  }
  sources.push_back({"bag of words", bridge::BagOfWordsFeatures(*corpus)});

  std::printf("Language transfer of the probes, %s\n\n", model_spec.c_str());
  std::printf(
      "| features | fitted on | mean held-out AUC in that language | mean AUC on the other "
      "language |");
  for (const bridge::Factor& factor : bridge::Factors()) {
    std::printf(" %s |", std::string(factor.id).c_str());
  }
  std::printf("\n|---|---|---|---|");
  for (int f = 0; f < bridge::kFactorCount; ++f) std::printf("---|");
  std::printf("\n");
  for (const Source& source : sources) {
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"en", "ja"}, {"ja", "en"}}) {
      absl::StatusOr<Transfer> transfer = FitAndTransfer(source.features, *corpus, from, to);
      if (!transfer.ok()) return Fail(std::string(transfer.status().message()));
      std::printf("| %s | %s → %s | %.3f | %.3f |", source.name.c_str(), from.c_str(), to.c_str(),
                  Mean(transfer->within), Mean(transfer->across));
      for (double auc : transfer->across) std::printf(" %.3f |", auc);
      std::printf("\n");
    }
  }
  return 0;
}
