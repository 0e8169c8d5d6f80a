// The RWKV-7 forward pass on the CPU. Each layer reads like the equations (see
// scripts/reference/rwkv7_reference.py for the same recurrence written independently in PyTorch):
// token shift and lerps, the r/k/v projections and the low-rank w, a, v, g paths, the WKV state
// update per head, group norm, bonus, gate, output projection, then the channel mix.
#include "backends/native/rwkv7_model.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "backends/native/cpu_ops.h"

namespace llive::backends::native {
namespace {

enum Lerp { kLerpR = 0, kLerpW, kLerpK, kLerpV, kLerpA, kLerpG, kLerpCount };

// exp(-0.5): the decay is w = exp(-exp(-0.5) * sigmoid(.)), so it stays in (0.545, 1).
constexpr float kDecayScale = 0.60653065971263342f;

inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// y = (x - mean) / sqrt(var + eps) * weight + bias over n values; statistics in double.
void LayerNorm(const float* x, const float* weight, const float* bias, int64_t n, float eps,
               float* y) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / static_cast<double>(n);
  double squares = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = x[i] - mean;
    squares += d * d;
  }
  const double inv = 1.0 / std::sqrt(squares / static_cast<double>(n) + eps);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<float>((x[i] - mean) * inv) * weight[i] + bias[i];
  }
}

inline float HorizontalSum(__m256 v) {
  __m128 low = _mm256_castps256_ps128(v);
  __m128 high = _mm256_extractf128_ps(v, 1);
  low = _mm_add_ps(low, high);
  low = _mm_hadd_ps(low, low);
  low = _mm_hadd_ps(low, low);
  return _mm_cvtss_f32(low);
}

// One head, one token, n = head size (a multiple of 8):
//   S = S diag(w) + (S (-kappa)) (kappa * a)^T + v k^T;  y = S r
// S: [n (value i), n (key j)] row-major. Each row i needs only its own old values, so the
// update runs row by row in one pass.
void WkvStep(float* state, const float* r, const float* w, const float* k, const float* v,
             const float* kappa, const float* a, int64_t n, float* y) {
  alignas(32) float kappa_a[256];
  for (int64_t j = 0; j < n; ++j) kappa_a[j] = kappa[j] * a[j];
  for (int64_t i = 0; i < n; ++i) {
    float* row = state + i * n;
    __m256 dot = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; j += 8) {
      dot = _mm256_fmadd_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(kappa + j), dot);
    }
    const __m256 removed = _mm256_set1_ps(-HorizontalSum(dot));
    const __m256 value = _mm256_set1_ps(v[i]);
    __m256 out = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; j += 8) {
      __m256 s = _mm256_mul_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(w + j));
      s = _mm256_fmadd_ps(removed, _mm256_load_ps(kappa_a + j), s);
      s = _mm256_fmadd_ps(value, _mm256_loadu_ps(k + j), s);
      _mm256_storeu_ps(row + j, s);
      out = _mm256_fmadd_ps(s, _mm256_loadu_ps(r + j), out);
    }
    y[i] = HorizontalSum(out);
  }
}

// Buffers for one call, sized for `rows` tokens.
struct Scratch {
  Scratch(const Rwkv7Config& c, int64_t rows)
      : x(rows * c.d_model),
        xa(rows * c.d_model),
        mixed(kLerpCount * rows * c.d_model),
        r(rows * c.d_model),
        w(rows * c.d_model),
        k(rows * c.d_model),
        v(rows * c.d_model),
        a(rows * c.d_model),
        g(rows * c.d_model),
        kappa(rows * c.d_model),
        v_first(rows * c.d_model),
        y(rows * c.d_model),
        low_rank(rows * std::max({c.decay_rank, c.iclr_rank, c.value_rank, c.gate_rank})),
        hidden(rows * c.d_ffn) {}
  std::vector<float> x, xa, mixed, r, w, k, v, a, g, kappa, v_first, y, low_rank, hidden;
};

// A segment's rows within the block: [begin, begin + count).
struct Rows {
  Rwkv7StateData* state;
  int64_t begin;
  int64_t count;
};

// out = bias + up(activation(down(x))) over `rows`: the low-rank paths.
template <typename Activation>
void LowRank(const float* x, int64_t rows, int64_t d, const std::vector<float>& down,
             const std::vector<float>& up, const std::vector<float>* bias, int64_t rank,
             Activation activation, float* low_rank, float* out) {
  cpu::Linear(x, rows, d, d, down.data(), rank, nullptr, low_rank);
  for (int64_t i = 0; i < rows * rank; ++i) low_rank[i] = activation(low_rank[i]);
  cpu::Linear(low_rank, rows, rank, rank, up.data(), d, bias != nullptr ? bias->data() : nullptr,
              out);
}

void TimeMix(const Rwkv7Config& c, const Rwkv7Layer& layer, int64_t layer_index,
             const std::vector<Rows>& segments, int64_t rows, Scratch& s) {
  const int64_t d = c.d_model;
  const int64_t n = c.head_size;
  const int64_t heads = c.n_head();
  // xa = LN(x); token shift: each row mixes with the previous token of its own sequence.
  for (int64_t row = 0; row < rows; ++row) {
    LayerNorm(s.x.data() + row * d, layer.attn_norm_weight.data(), layer.attn_norm_bias.data(), d,
              c.norm_eps, s.xa.data() + row * d);
  }
  for (const Rows& seg : segments) {
    float* shift = seg.state->shift_att.data() + layer_index * d;
    for (int64_t t = 0; t < seg.count; ++t) {
      const int64_t row = seg.begin + t;
      const float* cur = s.xa.data() + row * d;
      const float* prev = t == 0 ? shift : cur - d;
      for (int lerp = 0; lerp < kLerpCount; ++lerp) {
        const float* mu = layer.lerp.data() + lerp * d;
        float* out = s.mixed.data() + (lerp * rows + row) * d;
        for (int64_t i = 0; i < d; ++i) out[i] = cur[i] + (prev[i] - cur[i]) * mu[i];
      }
    }
    std::copy_n(s.xa.data() + (seg.begin + seg.count - 1) * d, d, shift);
  }
  auto mixed = [&](Lerp lerp) { return s.mixed.data() + lerp * rows * d; };

  cpu::Linear(mixed(kLerpR), rows, d, d, layer.receptance.data(), d, nullptr, s.r.data());
  cpu::Linear(mixed(kLerpK), rows, d, d, layer.key.data(), d, nullptr, s.k.data());
  cpu::Linear(mixed(kLerpV), rows, d, d, layer.value.data(), d, nullptr, s.v.data());
  // Decay: w = exp(-exp(-0.5) * sigmoid(w0 + w2 tanh(w1 x_w))).
  LowRank(
      mixed(kLerpW), rows, d, layer.w1, layer.w2, &layer.w0, c.decay_rank,
      [](float z) { return std::tanh(z); }, s.low_rank.data(), s.w.data());
  for (float& z : s.w) z = std::exp(-kDecayScale * Sigmoid(z));
  // In-context learning rate: a = sigmoid(a0 + a2 a1 x_a).
  LowRank(
      mixed(kLerpA), rows, d, layer.a1, layer.a2, &layer.a0, c.iclr_rank, [](float z) { return z; },
      s.low_rank.data(), s.a.data());
  for (int64_t i = 0; i < rows * d; ++i) s.a[i] = Sigmoid(s.a[i]);
  // Value residual: layer 0's values, mixed into every later layer's.
  if (layer_index == 0) {
    std::copy_n(s.v.data(), rows * d, s.v_first.data());
  } else {
    LowRank(
        mixed(kLerpV), rows, d, layer.v1, layer.v2, &layer.v0, c.value_rank,
        [](float z) { return z; }, s.low_rank.data(), s.y.data());
    for (int64_t i = 0; i < rows * d; ++i) {
      s.v[i] += (s.v_first[i] - s.v[i]) * Sigmoid(s.y[i]);
    }
  }
  // Gate: g = g2 sigmoid(g1 x_g).
  LowRank(mixed(kLerpG), rows, d, layer.g1, layer.g2, nullptr, c.gate_rank, Sigmoid,
          s.low_rank.data(), s.g.data());
  // kappa = L2norm(k * k_k) per head; k = k * (1 + (a - 1) * k_a).
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t base = row * d + h * n;
      double norm = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        const float z = s.k[base + j] * layer.k_k[h * n + j];
        s.kappa[base + j] = z;
        norm += static_cast<double>(z) * z;
      }
      const float inv = static_cast<float>(1.0 / std::max(std::sqrt(norm), 1e-12));
      for (int64_t j = 0; j < n; ++j) {
        s.kappa[base + j] *= inv;
        const int64_t i = h * n + j;
        s.k[base + j] *= 1.0f + (s.a[base + j] - 1.0f) * layer.k_a[i];
      }
    }
  }
  // The recurrence, token after token within each sequence.
  for (const Rows& seg : segments) {
    float* wkv = seg.state->wkv.data() + layer_index * heads * n * n;
    for (int64_t t = 0; t < seg.count; ++t) {
      const int64_t base = (seg.begin + t) * d;
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t o = base + h * n;
        WkvStep(wkv + h * n * n, s.r.data() + o, s.w.data() + o, s.k.data() + o, s.v.data() + o,
                s.kappa.data() + o, s.a.data() + o, n, s.y.data() + o);
      }
    }
  }
  // Group norm per head, bonus (r . (k * r_k)) v per head, gate.
  const float group_eps = static_cast<float>(n) * c.norm_eps;
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t o = row * d + h * n;
      float* y = s.y.data() + o;
      LayerNorm(y, layer.ln_x_weight.data() + h * n, layer.ln_x_bias.data() + h * n, n, group_eps,
                y);
      float bonus = 0.0f;
      for (int64_t j = 0; j < n; ++j) bonus += s.r[o + j] * s.k[o + j] * layer.r_k[h * n + j];
      for (int64_t j = 0; j < n; ++j) y[j] = (y[j] + bonus * s.v[o + j]) * s.g[o + j];
    }
  }
  cpu::Linear(s.y.data(), rows, d, d, layer.output.data(), d, nullptr, s.r.data());
  for (int64_t i = 0; i < rows * d; ++i) s.x[i] += s.r[i];
}

void ChannelMix(const Rwkv7Config& c, const Rwkv7Layer& layer, int64_t layer_index,
                const std::vector<Rows>& segments, int64_t rows, Scratch& s) {
  const int64_t d = c.d_model;
  for (int64_t row = 0; row < rows; ++row) {
    LayerNorm(s.x.data() + row * d, layer.ffn_norm_weight.data(), layer.ffn_norm_bias.data(), d,
              c.norm_eps, s.xa.data() + row * d);
  }
  float* xk = s.mixed.data();
  for (const Rows& seg : segments) {
    float* shift = seg.state->shift_ffn.data() + layer_index * d;
    for (int64_t t = 0; t < seg.count; ++t) {
      const int64_t row = seg.begin + t;
      const float* cur = s.xa.data() + row * d;
      const float* prev = t == 0 ? shift : cur - d;
      for (int64_t i = 0; i < d; ++i) {
        xk[row * d + i] = cur[i] + (prev[i] - cur[i]) * layer.ffn_lerp_k[i];
      }
    }
    std::copy_n(s.xa.data() + (seg.begin + seg.count - 1) * d, d, shift);
  }
  // relu(k)^2, then the value projection.
  cpu::Linear(xk, rows, d, d, layer.ffn_key.data(), c.d_ffn, nullptr, s.hidden.data());
  for (float& z : s.hidden) z = z > 0.0f ? z * z : 0.0f;
  cpu::Linear(s.hidden.data(), rows, c.d_ffn, c.d_ffn, layer.ffn_value.data(), d, nullptr,
              s.r.data());
  for (int64_t i = 0; i < rows * d; ++i) s.x[i] += s.r[i];
}

}  // namespace

std::vector<std::vector<float>*> Rwkv7Tensors(Rwkv7Weights& w) {
  std::vector<std::vector<float>*> tensors = {&w.embedding,     &w.ln0_weight,  &w.ln0_bias,
                                              &w.ln_out_weight, &w.ln_out_bias, &w.head};
  for (Rwkv7Layer& l : w.layers) {
    tensors.insert(tensors.end(), {&l.attn_norm_weight,
                                   &l.attn_norm_bias,
                                   &l.lerp,
                                   &l.w0,
                                   &l.w1,
                                   &l.w2,
                                   &l.a0,
                                   &l.a1,
                                   &l.a2,
                                   &l.v0,
                                   &l.v1,
                                   &l.v2,
                                   &l.g1,
                                   &l.g2,
                                   &l.k_k,
                                   &l.k_a,
                                   &l.r_k,
                                   &l.receptance,
                                   &l.key,
                                   &l.value,
                                   &l.output,
                                   &l.ln_x_weight,
                                   &l.ln_x_bias,
                                   &l.ffn_norm_weight,
                                   &l.ffn_norm_bias,
                                   &l.ffn_lerp_k,
                                   &l.ffn_key,
                                   &l.ffn_value});
  }
  return tensors;
}

std::vector<const std::vector<float>*> Rwkv7Tensors(const Rwkv7Weights& w) {
  // The pointers only read through; the mutable overload is the one list.
  std::vector<std::vector<float>*> tensors = Rwkv7Tensors(const_cast<Rwkv7Weights&>(w));
  return {tensors.begin(), tensors.end()};
}

Rwkv7StateData Rwkv7StateData::Zeros(const Rwkv7Config& config) {
  Rwkv7StateData state;
  state.wkv.assign(config.n_layer * config.n_head() * config.head_size * config.head_size, 0.0f);
  state.shift_att.assign(config.n_layer * config.d_model, 0.0f);
  state.shift_ffn.assign(config.n_layer * config.d_model, 0.0f);
  return state;
}

void Rwkv7Forward(const Rwkv7Weights& weights, absl::Span<const Rwkv7Segment> segments) {
  const Rwkv7Config& c = weights.config;
  const int64_t d = c.d_model;
  std::vector<Rows> rows_of;
  int64_t rows = 0;
  for (const Rwkv7Segment& seg : segments) {
    if (seg.tokens.empty()) continue;
    rows_of.push_back({seg.state, rows, static_cast<int64_t>(seg.tokens.size())});
    rows += static_cast<int64_t>(seg.tokens.size());
  }
  if (rows == 0) return;
  Scratch s(c, rows);
  // Embedding, then ln0 (the first block's extra norm).
  int64_t row = 0;
  for (const Rwkv7Segment& seg : segments) {
    for (int32_t token : seg.tokens) {
      float* x = s.x.data() + row * d;
      LayerNorm(weights.embedding.data() + static_cast<int64_t>(token) * d,
                weights.ln0_weight.data(), weights.ln0_bias.data(), d, c.norm_eps, x);
      ++row;
    }
  }
  for (int64_t l = 0; l < c.n_layer; ++l) {
    TimeMix(c, weights.layers[l], l, rows_of, rows, s);
    ChannelMix(c, weights.layers[l], l, rows_of, rows, s);
  }
  // Logits for the positions the segments ask for (their last token, or every token), in
  // one product.
  struct Wanted {
    float* logits;
    int64_t first_row;  // in `normed`
    int64_t count;
  };
  std::vector<Wanted> wanted;
  std::vector<float> normed;
  int64_t normed_rows = 0;
  size_t index = 0;
  for (const Rwkv7Segment& seg : segments) {
    if (seg.tokens.empty()) continue;
    const Rows& r = rows_of[index++];
    r.state->position += r.count;
    if (seg.logits == nullptr) continue;
    const int64_t count = seg.all_positions ? r.count : 1;
    wanted.push_back({seg.logits, normed_rows, count});
    normed.resize((normed_rows + count) * d);
    for (int64_t i = 0; i < count; ++i) {
      LayerNorm(s.x.data() + (r.begin + r.count - count + i) * d, weights.ln_out_weight.data(),
                weights.ln_out_bias.data(), d, c.norm_eps, normed.data() + (normed_rows + i) * d);
    }
    normed_rows += count;
  }
  if (wanted.empty()) return;
  std::vector<float> logits(normed_rows * c.vocab_size);
  cpu::Linear(normed.data(), normed_rows, d, d, weights.head.data(), c.vocab_size, nullptr,
              logits.data());
  for (const Wanted& w : wanted) {
    std::copy_n(logits.data() + w.first_row * c.vocab_size, w.count * c.vocab_size, w.logits);
  }
}

}  // namespace llive::backends::native
