// RWKV-7 on a CUDA GPU: the weights uploaded once (bf16 by default, fp16 or fp32), batches of
// independent recurrent states kept on the device, and the forward pass of Rwkv7Forward
// (backends/native/rwkv7_model.h) as cuBLAS products plus llive's own kernels
// (rwkv7_cuda_kernels.h). Decode steps replay a CUDA graph captured per batch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/native/cuda/cublas_gemm.h"
#include "backends/native/cuda/device_buffer.h"
#include "backends/native/cuda/device_tensor.h"
#include "backends/native/cuda/weight_dtype.h"
#include "backends/native/rwkv7_model.h"

namespace llive::backends::cuda {

using native::Rwkv7Config;
using native::Rwkv7StateData;
using native::Rwkv7Weights;

class Rwkv7CudaModel;

// The states of `capacity` independent sequences ("slots") on the device, with the working
// memory of the forward passes over them and the decode step's CUDA graph. Every forward pass
// advances all slots together; a slot nobody uses just computes along. Not thread-safe; use
// from the thread that uses its model. Must not outlive its model.
class Rwkv7CudaBatch {
 public:
  ~Rwkv7CudaBatch();
  Rwkv7CudaBatch(const Rwkv7CudaBatch&) = delete;
  Rwkv7CudaBatch& operator=(const Rwkv7CudaBatch&) = delete;

  int64_t capacity() const { return capacity_; }

  // Copies a host state (Rwkv7StateData::Zeros layout of the model's config) into slot
  // `slot`. InvalidArgument for a slot out of range or a state of other sizes.
  absl::Status SetState(int64_t slot, const Rwkv7StateData& state);
  // The state of slot `slot` as a host state that the CPU path continues from.
  absl::StatusOr<Rwkv7StateData> GetState(int64_t slot) const;

  // The logits after the last forward pass, [capacity, vocab] fp32 on the device.
  const float* device_logits() const { return logits_.data(); }
  // The same copied to the host (synchronises the model's stream).
  absl::StatusOr<std::vector<float>> Logits() const;
  // The tokens the last Sample wrote (and the next StepSampled reads), copied to the host.
  absl::StatusOr<std::vector<int32_t>> SampledTokens() const;

 private:
  friend class Rwkv7CudaModel;
  explicit Rwkv7CudaBatch(Rwkv7CudaModel* model) : model_(model) {}

  // Makes the working memory big enough for `rows` tokens at once (a regrowth drops the graph,
  // which holds the old addresses).
  absl::Status Reserve(int64_t rows);

  Rwkv7CudaModel* model_;
  int64_t capacity_ = 0;
  std::vector<int64_t> positions_;
  // State, layer-major so that one layer's slots are contiguous for the kernels:
  DeviceBuffer<float> wkv_;        // [L, capacity, H, N, N]
  DeviceBuffer<float> shift_att_;  // [L, capacity, D]
  DeviceBuffer<float> shift_ffn_;  // [L, capacity, D]
  DeviceBuffer<float> logits_;     // [capacity, V]
  DeviceBuffer<int32_t> tokens_;   // [rows] the tokens of the current pass
  // Working memory for `rows_` tokens. fp32 [rows, D] unless said otherwise:
  int64_t rows_ = 0;
  DeviceBuffer<float> x_, r_, w_, k_, v_, a_, g_, kappa_, v_first_, v_gate_, y_;
  DeviceBuffer<float> down_[4];           // [rows, rank of w, a, v, g]
  DeviceTensor mixed_;                    // [6, rows, D] matrix inputs in the weights' type
  DeviceTensor low_rank_[4];              // [rows, rank] activated low-rank values
  DeviceTensor hidden_act_;               // [rows, F] relu^2 of the channel mix
  DeviceTensor gated_;                    // [rows, D] the time mix's output before `output`
  DeviceTensor last_;                     // [capacity, D] normed last rows, before the head
  cudaGraphExec_t step_graph_ = nullptr;  // the one-token step, captured on first use
};

// Thread-compatible: one thread at a time (it owns one stream and one cuBLAS context).
class Rwkv7CudaModel {
 public:
  // Uploads `weights` to GPU `device` (a CUDA ordinal) as `dtype`. Errors: InvalidArgument for a
  // head size other than 32, 64 or 128; ResourceExhausted when the GPU is out of memory;
  // Unavailable or FailedPrecondition (architecture not built) from CUDA.
  static absl::StatusOr<std::unique_ptr<Rwkv7CudaModel>> Create(const Rwkv7Weights& weights,
                                                                WeightDtype dtype, int device);
  ~Rwkv7CudaModel();
  Rwkv7CudaModel(const Rwkv7CudaModel&) = delete;
  Rwkv7CudaModel& operator=(const Rwkv7CudaModel&) = delete;

  const Rwkv7Config& config() const { return config_; }
  WeightDtype dtype() const { return dtype_; }
  cudaStream_t stream() const { return stream_; }
  // Bytes of the weights on the device.
  size_t weight_bytes() const { return weight_bytes_; }

  // `capacity` zero states.
  absl::StatusOr<std::unique_ptr<Rwkv7CudaBatch>> NewBatch(int64_t capacity);

  // Advances every slot by `length` tokens: tokens is [capacity, length] (slot-major), ids in
  // [0, vocab). Long runs go through in pieces of at most kMaxRows tokens, so the working
  // memory stays bounded however long the stream. Leaves the logits of each slot's last token
  // in batch.device_logits(). Returns when the work is enqueued (the next copy to the host
  // waits for it). InvalidArgument for a wrong token count or id.
  static constexpr int64_t kMaxRows = 16384;
  absl::Status Forward(Rwkv7CudaBatch& batch, absl::Span<const int32_t> tokens, int64_t length);

  // One token per slot (tokens: [capacity]) through the batch's decode graph.
  absl::Status Step(Rwkv7CudaBatch& batch, absl::Span<const int32_t> tokens);
  // One step whose input is the batch's last sampled tokens, without touching the host: the
  // generation loop is Sample, StepSampled, Sample, ...
  absl::Status StepSampled(Rwkv7CudaBatch& batch);
  // Picks each slot's next token from the current logits on the device (argmax when
  // temperature is 0; see rwkv7::SampleTokens) into the batch's token buffer.
  absl::Status Sample(Rwkv7CudaBatch& batch, float temperature, uint64_t seed, uint64_t step);

 private:
  struct Layer {
    DeviceBuffer<float> attn_norm_weight, attn_norm_bias, lerp, w0, a0, v0, k_k, k_a, r_k;
    DeviceBuffer<float> ln_x_weight, ln_x_bias, ffn_norm_weight, ffn_norm_bias, ffn_lerp_k;
    DeviceTensor receptance, key, value, output, w1, w2, a1, a2, v1, v2, g1, g2;
    DeviceTensor ffn_key, ffn_value;
  };

  friend class Rwkv7CudaBatch;
  struct Product;  // one matrix product of a pass (rwkv7_cuda_model.cc)

  Rwkv7CudaModel() = default;
  template <typename Act>
  absl::Status Products(absl::Span<const Product> products, int64_t rows);
  // The forward pass over batch.tokens_ ([capacity, length], length * capacity <= rows_).
  template <typename Act>
  absl::Status Run(Rwkv7CudaBatch& batch, int64_t length, bool want_logits);
  absl::Status RunAnyType(Rwkv7CudaBatch& batch, int64_t length, bool want_logits);
  absl::Status ReplayStep(Rwkv7CudaBatch& batch);

  Rwkv7Config config_;
  WeightDtype dtype_ = WeightDtype::kBf16;
  int device_ = 0;
  size_t weight_bytes_ = 0;
  bool small_products_ = false;  // every product's input width suits rwkv7::SmallBatchLinear
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<GemmContext> gemm_;
  DeviceTensor embedding_, head_;
  DeviceBuffer<float> ln0_weight_, ln0_bias_, ln_out_weight_, ln_out_bias_;
  std::vector<Layer> layers_;
};

}  // namespace llive::backends::cuda
