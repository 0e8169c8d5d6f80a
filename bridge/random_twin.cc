// Random-weight twins of the native backends.
#include "bridge/random_twin.h"

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "backends/native/mamba_backend.h"
#include "backends/native/mamba_random.h"
#include "backends/native/rwkv7_backend.h"

namespace llive::bridge {
namespace {

void Redraw(std::vector<float>& tensor, std::mt19937_64& random) {
  if (tensor.empty()) return;
  double mean = 0, square = 0;
  for (float value : tensor) mean += value;
  mean /= tensor.size();
  for (float value : tensor) square += (value - mean) * (value - mean);
  const double deviation = std::sqrt(square / tensor.size());
  std::normal_distribution<double> normal(mean, deviation > 0 ? deviation : 0.0);
  for (float& value : tensor) value = static_cast<float>(deviation > 0 ? normal(random) : mean);
}

}  // namespace

absl::StatusOr<std::unique_ptr<backends::StatefulBackend>> MakeRandomTwin(
    backends::StatefulBackend& backend, uint64_t seed) {
  const std::string name = absl::StrCat(backend.Name(), " (random weights, seed ", seed, ")");
  if (auto* mamba = dynamic_cast<backends::native::MambaBackend*>(&backend)) {
    backends::native::RandomMambaOptions options;
    options.seed = seed;
    options.tie_embeddings = mamba->model().config().tie_embeddings;
    absl::StatusOr<std::unique_ptr<backends::native::MambaModel>> model =
        backends::native::MambaModel::FromWeights(
            mamba->model().config(),
            backends::native::RandomMambaWeights(mamba->model().config(), options));
    if (!model.ok()) return model.status();
    return std::unique_ptr<backends::StatefulBackend>(
        backends::native::MambaBackend::FromModel(*std::move(model), nullptr, name));
  }
  if (auto* rwkv = dynamic_cast<backends::native::Rwkv7Backend*>(&backend)) {
    backends::native::Rwkv7Weights weights = rwkv->weights();
    std::mt19937_64 random(seed);
    for (std::vector<float>* tensor : backends::native::Rwkv7Tensors(weights)) {
      Redraw(*tensor, random);
    }
    return std::unique_ptr<backends::StatefulBackend>(
        backends::native::Rwkv7Backend::FromWeights(std::move(weights), nullptr, name));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "no random-weight twin for backend \"", backend.Name(), "\" (architecture \"",
      backend.Info().architecture, "\"); the random-weights baseline needs mamba or rwkv7"));
}

}  // namespace llive::bridge
