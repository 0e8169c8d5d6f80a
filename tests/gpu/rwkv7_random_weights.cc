// Random RWKV-7 weights; see rwkv7_random_weights.h.
#include "tests/gpu/rwkv7_random_weights.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace llive::gpu_check {
namespace {

using backends::native::Rwkv7Config;
using backends::native::Rwkv7Layer;
using backends::native::Rwkv7Weights;

class Filler {
 public:
  explicit Filler(uint64_t seed) : random_(seed) {}

  std::vector<float> Normal(int64_t n, float std, float mean = 0.0f) {
    std::normal_distribution<float> normal(mean, std);
    std::vector<float> out(n);
    for (float& v : out) v = normal(random_);
    return out;
  }
  std::vector<float> Uniform(int64_t n, float lo, float hi) {
    std::uniform_real_distribution<float> uniform(lo, hi);
    std::vector<float> out(n);
    for (float& v : out) v = uniform(random_);
    return out;
  }
  // A PyTorch-layout [out, in] matrix with std gain / sqrt(in).
  std::vector<float> Matrix(int64_t out, int64_t in, float gain = 1.0f) {
    return Normal(out * in, gain / std::sqrt(static_cast<float>(in)));
  }

 private:
  std::mt19937_64 random_;
};

float RoundToBf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  bits += 0x7fffu + ((bits >> 16) & 1u);  // round to nearest even (weights are finite)
  bits &= 0xffff0000u;
  std::memcpy(&x, &bits, sizeof(bits));
  return x;
}

void Round(std::vector<float>& values) {
  for (float& v : values) v = RoundToBf16(v);
}

}  // namespace

Rwkv7Config Rwkv7Shape01B() {
  Rwkv7Config c;
  c.vocab_size = 65536;
  c.n_layer = 12;
  c.d_model = 768;
  c.head_size = 64;
  c.d_ffn = 3072;
  c.decay_rank = 64;
  c.iclr_rank = 64;
  c.value_rank = 32;
  c.gate_rank = 128;
  return c;
}

Rwkv7Weights RandomRwkv7Weights(const Rwkv7Config& c, uint64_t seed) {
  Filler fill(seed);
  const int64_t d = c.d_model;
  Rwkv7Weights w;
  w.config = c;
  w.embedding = fill.Normal(c.vocab_size * d, 1.0f);
  w.ln0_weight = fill.Normal(d, 0.1f, 1.0f);
  w.ln0_bias = fill.Normal(d, 0.1f);
  w.layers.resize(c.n_layer);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    Rwkv7Layer& layer = w.layers[l];
    layer.attn_norm_weight = fill.Normal(d, 0.1f, 1.0f);
    layer.attn_norm_bias = fill.Normal(d, 0.1f);
    layer.lerp = fill.Uniform(6 * d, 0.0f, 1.0f);
    layer.w0 = fill.Normal(d, 1.0f);
    layer.w1 = fill.Matrix(c.decay_rank, d);
    layer.w2 = fill.Matrix(d, c.decay_rank);
    layer.a0 = fill.Normal(d, 1.0f);
    layer.a1 = fill.Matrix(c.iclr_rank, d);
    layer.a2 = fill.Matrix(d, c.iclr_rank);
    if (l > 0) {
      layer.v0 = fill.Normal(d, 1.0f);
      layer.v1 = fill.Matrix(c.value_rank, d);
      layer.v2 = fill.Matrix(d, c.value_rank);
    }
    layer.g1 = fill.Matrix(c.gate_rank, d);
    layer.g2 = fill.Matrix(d, c.gate_rank);
    layer.k_k = fill.Normal(d, 0.1f, 0.7f);
    layer.k_a = fill.Normal(d, 0.1f, 1.0f);
    layer.r_k = fill.Normal(d, 0.3f);
    layer.receptance = fill.Matrix(d, d);
    layer.key = fill.Matrix(d, d);
    layer.value = fill.Matrix(d, d);
    layer.output = fill.Matrix(d, d);
    layer.ln_x_weight = fill.Normal(d, 0.1f, 1.0f);
    layer.ln_x_bias = fill.Normal(d, 0.1f);
    layer.ffn_norm_weight = fill.Normal(d, 0.1f, 1.0f);
    layer.ffn_norm_bias = fill.Normal(d, 0.1f);
    layer.ffn_lerp_k = fill.Uniform(d, 0.0f, 1.0f);
    layer.ffn_key = fill.Matrix(c.d_ffn, d);
    layer.ffn_value = fill.Matrix(d, c.d_ffn, 0.5f);
  }
  w.ln_out_weight = fill.Normal(d, 0.1f, 1.0f);
  w.ln_out_bias = fill.Normal(d, 0.1f);
  w.head = fill.Matrix(c.vocab_size, d);
  return w;
}

void RoundRwkv7WeightsToBf16(Rwkv7Weights& w) {
  for (std::vector<float>* v : Rwkv7Tensors(w)) Round(*v);
}

}  // namespace llive::gpu_check
