// Deterministic random Mamba weights.
#include "backends/native/mamba_random.h"

#include <cmath>
#include <random>

namespace llive::backends::native {
namespace {

class Draw {
 public:
  explicit Draw(uint64_t seed) : random_(seed) {}
  std::vector<float> Normal(int64_t n, double stddev, double mean = 0.0) {
    std::normal_distribution<float> normal(static_cast<float>(mean), static_cast<float>(stddev));
    std::vector<float> values(n);
    for (float& v : values) v = normal(random_);
    return values;
  }
  float Uniform(double low, double high) {
    return std::uniform_real_distribution<float>(static_cast<float>(low),
                                                 static_cast<float>(high))(random_);
  }

 private:
  std::mt19937_64 random_;
};

}  // namespace

MambaWeights RandomMambaWeights(const MambaConfig& c, const RandomMambaOptions& options) {
  Draw draw(options.seed);
  MambaWeights w;
  w.embedding = draw.Normal(c.vocab_size * c.d_model, 1.0);
  w.layers.resize(c.n_layer);
  const double residual_scale = 1.0 / std::sqrt(static_cast<double>(c.n_layer));
  for (MambaLayerWeights& l : w.layers) {
    l.norm = draw.Normal(c.d_model, 0.1, 1.0);
    l.in_proj = draw.Normal(2 * c.d_inner * c.d_model, 1.0 / std::sqrt(double(c.d_model)));
    l.conv = draw.Normal(c.d_inner * c.d_conv, 1.0 / std::sqrt(double(c.d_conv)));
    l.conv_bias = draw.Normal(c.d_inner, 0.1);
    l.x_proj =
        draw.Normal((c.dt_rank + 2 * c.d_state) * c.d_inner, 1.0 / std::sqrt(double(c.d_inner)));
    l.dt_proj = draw.Normal(c.d_inner * c.dt_rank, 0.5 / std::sqrt(double(c.dt_rank)));
    l.dt_proj_bias.resize(c.d_inner);
    for (float& bias : l.dt_proj_bias) {
      // softplus^-1 of a log-uniform dt in [0.001, 0.1].
      const double dt = std::exp(draw.Uniform(std::log(0.001), std::log(0.1)));
      bias = static_cast<float>(dt + std::log(-std::expm1(-dt)));
    }
    l.a.resize(c.d_inner * c.d_state);
    for (int64_t i = 0; i < c.d_inner; ++i) {
      for (int64_t s = 0; s < c.d_state; ++s) {
        l.a[i * c.d_state + s] = -static_cast<float>(s + 1) * std::exp(draw.Uniform(-0.1, 0.1));
      }
    }
    l.d = draw.Normal(c.d_inner, 0.1, 1.0);
    l.out_proj = draw.Normal(c.d_model * c.d_inner, residual_scale / std::sqrt(double(c.d_inner)));
  }
  w.norm_f = draw.Normal(c.d_model, 0.1, 1.0);
  if (!options.tie_embeddings) {
    w.lm_head = draw.Normal(c.vocab_size * c.d_model, 1.0 / std::sqrt(double(c.d_model)));
  }
  // The head multiplies normalised activations (RMS 1); scaling it scales the logits.
  if (options.logit_scale != 1.0f) {
    for (float& v : w.norm_f) v *= options.logit_scale;
  }
  return w;
}

}  // namespace llive::backends::native
