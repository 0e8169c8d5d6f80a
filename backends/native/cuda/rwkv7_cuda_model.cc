// The RWKV-7 forward pass on the GPU. Run() reads like Rwkv7Forward: embedding + ln0, then per
// layer the time mix (norm, shift, lerps, r/k/v and low-rank products, WKV, group norm, gate,
// output + residual) and the channel mix (norm, shift, key, relu^2, value + residual).
#include "backends/native/cuda/rwkv7_cuda_model.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/cuda_status.h"
#include "backends/native/cuda/rwkv7_cuda_kernels.h"

namespace llive::backends::cuda {
namespace {

enum Lerp { kLerpR = 0, kLerpW, kLerpK, kLerpV, kLerpA, kLerpG };
enum LowRankPath { kPathW = 0, kPathA, kPathV, kPathG };

template <typename T>
absl::Status Grow(DeviceBuffer<T>& buffer, size_t count) {
  if (buffer.size() >= count) return absl::OkStatus();
  buffer = DeviceBuffer<T>();  // free first: the old and new need not fit together
  absl::StatusOr<DeviceBuffer<T>> grown = DeviceBuffer<T>::Allocate(count);
  if (!grown.ok()) return grown.status();
  buffer = *std::move(grown);
  return absl::OkStatus();
}

absl::Status Grow(DeviceTensor& tensor, WeightDtype dtype, size_t count) {
  if (tensor.size() >= count) return absl::OkStatus();
  tensor = DeviceTensor();
  absl::StatusOr<DeviceTensor> grown = DeviceTensor::Allocate(dtype, count);
  if (!grown.ok()) return grown.status();
  tensor = *std::move(grown);
  return absl::OkStatus();
}

absl::Status UploadFloats(const std::vector<float>& host, DeviceBuffer<float>& out, size_t& bytes) {
  absl::StatusOr<DeviceBuffer<float>> buffer =
      DeviceBuffer<float>::FromHost(host.data(), host.size());
  if (!buffer.ok()) return buffer.status();
  out = *std::move(buffer);
  bytes += out.bytes();
  return absl::OkStatus();
}

absl::Status UploadMatrix(const std::vector<float>& host, WeightDtype dtype, cudaStream_t stream,
                          DeviceTensor& out, size_t& bytes) {
  if (host.empty()) return absl::OkStatus();
  absl::StatusOr<DeviceTensor> tensor =
      DeviceTensor::Upload(host.data(), host.size(), dtype, stream);
  if (!tensor.ok()) return tensor.status();
  out = *std::move(tensor);
  bytes += out.bytes();
  return absl::OkStatus();
}

template <typename T>
T* As(DeviceTensor& tensor) {
  return static_cast<T*>(tensor.data());
}
template <typename T>
const T* As(const DeviceTensor& tensor) {
  return static_cast<const T*>(tensor.data());
}

#define LLIVE_RETURN_IF_ERROR(expr)                                                     \
  do {                                                                                  \
    if (absl::Status llive_status_ = (expr); !llive_status_.ok()) return llive_status_; \
  } while (false)

}  // namespace

// ---------------------------------------------------------------------------------------------
// Rwkv7CudaBatch

Rwkv7CudaBatch::~Rwkv7CudaBatch() {
  if (step_graph_ != nullptr) cudaGraphExecDestroy(step_graph_);
}

absl::Status Rwkv7CudaBatch::Reserve(int64_t rows) {
  if (rows <= rows_) return absl::OkStatus();
  if (step_graph_ != nullptr) {
    cudaGraphExecDestroy(step_graph_);
    step_graph_ = nullptr;
  }
  const Rwkv7Config& c = model_->config();
  const WeightDtype dtype = model_->dtype();
  const size_t n = static_cast<size_t>(rows);
  const size_t d = static_cast<size_t>(c.d_model);
  for (DeviceBuffer<float>* buffer :
       {&x_, &r_, &w_, &k_, &v_, &a_, &g_, &kappa_, &v_first_, &v_gate_, &y_}) {
    LLIVE_RETURN_IF_ERROR(Grow(*buffer, n * d));
  }
  const int64_t ranks[4] = {c.decay_rank, c.iclr_rank, c.value_rank, c.gate_rank};
  for (int path = 0; path < 4; ++path) {
    LLIVE_RETURN_IF_ERROR(Grow(down_[path], n * ranks[path]));
    LLIVE_RETURN_IF_ERROR(Grow(low_rank_[path], dtype, n * ranks[path]));
  }
  LLIVE_RETURN_IF_ERROR(Grow(mixed_, dtype, 6 * n * d));
  LLIVE_RETURN_IF_ERROR(Grow(hidden_act_, dtype, n * c.d_ffn));
  LLIVE_RETURN_IF_ERROR(Grow(gated_, dtype, n * d));
  LLIVE_RETURN_IF_ERROR(Grow(tokens_, n));
  rows_ = rows;
  return absl::OkStatus();
}

absl::Status Rwkv7CudaBatch::SetState(int64_t slot, const Rwkv7StateData& state) {
  const Rwkv7Config& c = model_->config();
  const Rwkv7StateData zeros = Rwkv7StateData::Zeros(c);
  if (slot < 0 || slot >= capacity_) {
    return absl::InvalidArgumentError(
        absl::StrCat("state slot ", slot, " is outside the batch of ", capacity_));
  }
  if (state.wkv.size() != zeros.wkv.size() || state.shift_att.size() != zeros.shift_att.size() ||
      state.shift_ffn.size() != zeros.shift_ffn.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "RWKV-7 state of ", state.wkv.size(), "/", state.shift_att.size(), "/",
        state.shift_ffn.size(), " values (wkv/shift_att/shift_ffn) for a model that needs ",
        zeros.wkv.size(), "/", zeros.shift_att.size(), "/", zeros.shift_ffn.size()));
  }
  cudaSetDevice(model_->device_);
  const size_t head_block = static_cast<size_t>(c.n_head() * c.head_size * c.head_size);
  const size_t d = static_cast<size_t>(c.d_model);
  const size_t floats = sizeof(float);
  cudaStream_t stream = model_->stream();
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpy2DAsync(wkv_.data() + slot * head_block, capacity_ * head_block * floats,
                        state.wkv.data(), head_block * floats, head_block * floats, c.n_layer,
                        cudaMemcpyHostToDevice, stream),
      "copy of an RWKV-7 wkv state to the GPU");
  LLIVE_CUDA_RETURN_IF_ERROR(cudaMemcpy2DAsync(shift_att_.data() + slot * d, capacity_ * d * floats,
                                               state.shift_att.data(), d * floats, d * floats,
                                               c.n_layer, cudaMemcpyHostToDevice, stream),
                             "copy of an RWKV-7 shift state to the GPU");
  LLIVE_CUDA_RETURN_IF_ERROR(cudaMemcpy2DAsync(shift_ffn_.data() + slot * d, capacity_ * d * floats,
                                               state.shift_ffn.data(), d * floats, d * floats,
                                               c.n_layer, cudaMemcpyHostToDevice, stream),
                             "copy of an RWKV-7 shift state to the GPU");
  positions_[slot] = state.position;
  return CudaStatus(cudaStreamSynchronize(stream), "copy of an RWKV-7 state to the GPU");
}

absl::StatusOr<Rwkv7StateData> Rwkv7CudaBatch::GetState(int64_t slot) const {
  if (slot < 0 || slot >= capacity_) {
    return absl::InvalidArgumentError(
        absl::StrCat("state slot ", slot, " is outside the batch of ", capacity_));
  }
  const Rwkv7Config& c = model_->config();
  Rwkv7StateData state = Rwkv7StateData::Zeros(c);
  cudaSetDevice(model_->device_);
  const size_t head_block = static_cast<size_t>(c.n_head() * c.head_size * c.head_size);
  const size_t d = static_cast<size_t>(c.d_model);
  const size_t floats = sizeof(float);
  cudaStream_t stream = model_->stream();
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpy2DAsync(state.wkv.data(), head_block * floats, wkv_.data() + slot * head_block,
                        capacity_ * head_block * floats, head_block * floats, c.n_layer,
                        cudaMemcpyDeviceToHost, stream),
      "copy of an RWKV-7 wkv state from the GPU");
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpy2DAsync(state.shift_att.data(), d * floats, shift_att_.data() + slot * d,
                        capacity_ * d * floats, d * floats, c.n_layer, cudaMemcpyDeviceToHost,
                        stream),
      "copy of an RWKV-7 shift state from the GPU");
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpy2DAsync(state.shift_ffn.data(), d * floats, shift_ffn_.data() + slot * d,
                        capacity_ * d * floats, d * floats, c.n_layer, cudaMemcpyDeviceToHost,
                        stream),
      "copy of an RWKV-7 shift state from the GPU");
  LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream), "copy of an RWKV-7 state from the GPU");
  state.position = positions_[slot];
  return state;
}

absl::StatusOr<std::vector<float>> Rwkv7CudaBatch::Logits() const {
  std::vector<float> logits(logits_.size());
  LLIVE_RETURN_IF_ERROR(logits_.CopyToHost(logits.data(), logits.size(), model_->stream()));
  return logits;
}

absl::StatusOr<std::vector<int32_t>> Rwkv7CudaBatch::SampledTokens() const {
  std::vector<int32_t> tokens(capacity_);
  LLIVE_RETURN_IF_ERROR(tokens_.CopyToHost(tokens.data(), tokens.size(), model_->stream()));
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Rwkv7CudaModel

absl::StatusOr<std::unique_ptr<Rwkv7CudaModel>> Rwkv7CudaModel::Create(const Rwkv7Weights& weights,
                                                                       WeightDtype dtype,
                                                                       int device) {
  const Rwkv7Config& c = weights.config;
  if (c.head_size != 32 && c.head_size != 64 && c.head_size != 128) {
    return absl::InvalidArgumentError(
        absl::StrCat("RWKV-7 head size ", c.head_size,
                     " has no CUDA kernel; the GPU path supports 32, 64, 128"));
  }
  auto model = std::unique_ptr<Rwkv7CudaModel>(new Rwkv7CudaModel());
  model->config_ = c;
  model->dtype_ = dtype;
  model->device_ = device;
  model->small_products_ = c.d_model % 8 == 0 && c.d_ffn % 8 == 0 && c.decay_rank % 8 == 0 &&
                           c.iclr_rank % 8 == 0 && c.value_rank % 8 == 0 && c.gate_rank % 8 == 0;
  LLIVE_CUDA_RETURN_IF_ERROR(cudaSetDevice(device), absl::StrCat("selecting GPU ", device));
  LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&model->stream_, cudaStreamNonBlocking),
                             "creating the RWKV-7 stream");
  absl::StatusOr<std::unique_ptr<GemmContext>> gemm = GemmContext::Create(model->stream_);
  if (!gemm.ok()) return gemm.status();
  model->gemm_ = *std::move(gemm);
  size_t& bytes = model->weight_bytes_;
  cudaStream_t stream = model->stream_;
  LLIVE_RETURN_IF_ERROR(UploadMatrix(weights.embedding, dtype, stream, model->embedding_, bytes));
  LLIVE_RETURN_IF_ERROR(UploadMatrix(weights.head, dtype, stream, model->head_, bytes));
  LLIVE_RETURN_IF_ERROR(UploadFloats(weights.ln0_weight, model->ln0_weight_, bytes));
  LLIVE_RETURN_IF_ERROR(UploadFloats(weights.ln0_bias, model->ln0_bias_, bytes));
  LLIVE_RETURN_IF_ERROR(UploadFloats(weights.ln_out_weight, model->ln_out_weight_, bytes));
  LLIVE_RETURN_IF_ERROR(UploadFloats(weights.ln_out_bias, model->ln_out_bias_, bytes));
  model->layers_.resize(weights.layers.size());
  for (size_t l = 0; l < weights.layers.size(); ++l) {
    const native::Rwkv7Layer& in = weights.layers[l];
    Layer& out = model->layers_[l];
    const std::pair<const std::vector<float>*, DeviceBuffer<float>*> vectors[] = {
        {&in.attn_norm_weight, &out.attn_norm_weight},
        {&in.attn_norm_bias, &out.attn_norm_bias},
        {&in.lerp, &out.lerp},
        {&in.w0, &out.w0},
        {&in.a0, &out.a0},
        {&in.v0, &out.v0},
        {&in.k_k, &out.k_k},
        {&in.k_a, &out.k_a},
        {&in.r_k, &out.r_k},
        {&in.ln_x_weight, &out.ln_x_weight},
        {&in.ln_x_bias, &out.ln_x_bias},
        {&in.ffn_norm_weight, &out.ffn_norm_weight},
        {&in.ffn_norm_bias, &out.ffn_norm_bias},
        {&in.ffn_lerp_k, &out.ffn_lerp_k}};
    for (const auto& [host, device_buffer] : vectors) {
      LLIVE_RETURN_IF_ERROR(UploadFloats(*host, *device_buffer, bytes));
    }
    const std::pair<const std::vector<float>*, DeviceTensor*> matrices[] = {
        {&in.receptance, &out.receptance},
        {&in.key, &out.key},
        {&in.value, &out.value},
        {&in.output, &out.output},
        {&in.w1, &out.w1},
        {&in.w2, &out.w2},
        {&in.a1, &out.a1},
        {&in.a2, &out.a2},
        {&in.v1, &out.v1},
        {&in.v2, &out.v2},
        {&in.g1, &out.g1},
        {&in.g2, &out.g2},
        {&in.ffn_key, &out.ffn_key},
        {&in.ffn_value, &out.ffn_value}};
    for (const auto& [host, tensor] : matrices) {
      LLIVE_RETURN_IF_ERROR(UploadMatrix(*host, dtype, stream, *tensor, bytes));
    }
  }
  return model;
}

Rwkv7CudaModel::~Rwkv7CudaModel() {
  gemm_.reset();
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

absl::StatusOr<std::unique_ptr<Rwkv7CudaBatch>> Rwkv7CudaModel::NewBatch(int64_t capacity) {
  if (capacity <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("an RWKV-7 batch needs at least one slot, not ", capacity));
  }
  cudaSetDevice(device_);
  auto batch = std::unique_ptr<Rwkv7CudaBatch>(new Rwkv7CudaBatch(this));
  const Rwkv7Config& c = config_;
  batch->capacity_ = capacity;
  batch->positions_.assign(capacity, 0);
  const size_t slots = static_cast<size_t>(capacity);
  const size_t state_floats =
      static_cast<size_t>(c.n_layer * c.n_head() * c.head_size * c.head_size) * slots;
  const size_t shift_floats = static_cast<size_t>(c.n_layer * c.d_model) * slots;
  LLIVE_RETURN_IF_ERROR(Grow(batch->wkv_, state_floats));
  LLIVE_RETURN_IF_ERROR(Grow(batch->shift_att_, shift_floats));
  LLIVE_RETURN_IF_ERROR(Grow(batch->shift_ffn_, shift_floats));
  LLIVE_RETURN_IF_ERROR(Grow(batch->logits_, slots * c.vocab_size));
  LLIVE_RETURN_IF_ERROR(Grow(batch->last_, dtype_, slots * c.d_model));
  for (DeviceBuffer<float>* buffer : {&batch->wkv_, &batch->shift_att_, &batch->shift_ffn_}) {
    LLIVE_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(buffer->data(), 0, buffer->bytes(), stream_),
                               "zeroing RWKV-7 states");
  }
  LLIVE_RETURN_IF_ERROR(batch->Reserve(capacity));
  LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_), "zeroing RWKV-7 states");
  return batch;
}

absl::Status Rwkv7CudaModel::Forward(Rwkv7CudaBatch& batch, absl::Span<const int32_t> tokens,
                                     int64_t length) {
  const int64_t capacity = batch.capacity();
  if (length <= 0 || static_cast<int64_t>(tokens.size()) != capacity * length) {
    return absl::InvalidArgumentError(absl::StrCat("RWKV-7 forward of ", tokens.size(),
                                                   " tokens for ", capacity, " slots of ", length,
                                                   " tokens each"));
  }
  for (int32_t token : tokens) {
    if (token < 0 || token >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", token, " is outside the vocabulary [0, ", config_.vocab_size, ")"));
    }
  }
  cudaSetDevice(device_);
  const int64_t piece = std::clamp<int64_t>(kMaxRows / capacity, 1, length);
  LLIVE_RETURN_IF_ERROR(batch.Reserve(capacity * piece));
  for (int64_t t0 = 0; t0 < length; t0 += piece) {
    const int64_t count = std::min(piece, length - t0);
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpy2DAsync(batch.tokens_.data(), count * sizeof(int32_t), tokens.data() + t0,
                          length * sizeof(int32_t), count * sizeof(int32_t), capacity,
                          cudaMemcpyHostToDevice, stream_),
        "copy of RWKV-7 tokens to the GPU");
    LLIVE_RETURN_IF_ERROR(RunAnyType(batch, count, t0 + count == length));
  }
  for (int64_t& position : batch.positions_) position += length;
  return absl::OkStatus();
}

absl::Status Rwkv7CudaModel::Step(Rwkv7CudaBatch& batch, absl::Span<const int32_t> tokens) {
  if (static_cast<int64_t>(tokens.size()) != batch.capacity()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RWKV-7 step of ", tokens.size(), " tokens for ", batch.capacity(), " slots"));
  }
  for (int32_t token : tokens) {
    if (token < 0 || token >= config_.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", token, " is outside the vocabulary [0, ", config_.vocab_size, ")"));
    }
  }
  cudaSetDevice(device_);
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(batch.tokens_.data(), tokens.data(), tokens.size() * sizeof(int32_t),
                      cudaMemcpyHostToDevice, stream_),
      "copy of RWKV-7 tokens to the GPU");
  return ReplayStep(batch);
}

absl::Status Rwkv7CudaModel::StepSampled(Rwkv7CudaBatch& batch) {
  cudaSetDevice(device_);
  return ReplayStep(batch);
}

absl::Status Rwkv7CudaModel::Sample(Rwkv7CudaBatch& batch, float temperature, uint64_t seed,
                                    uint64_t step) {
  cudaSetDevice(device_);
  LLIVE_CUDA_RETURN_IF_ERROR(
      rwkv7::SampleTokens(batch.logits_.data(), batch.capacity(), config_.vocab_size, temperature,
                          seed, step, batch.tokens_.data(), stream_),
      "RWKV-7 sampling");
  return absl::OkStatus();
}

absl::Status Rwkv7CudaModel::ReplayStep(Rwkv7CudaBatch& batch) {
  if (batch.step_graph_ == nullptr) {
    // Capture the step once per batch: its buffers and cuBLAS's workspace have fixed
    // addresses from here on (Reserve drops the graph when it moves them).
    LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal),
                               "starting the RWKV-7 decode graph");
    const absl::Status run = RunAnyType(batch, 1, true);
    cudaGraph_t graph = nullptr;
    const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
    if (!run.ok()) {
      if (graph != nullptr) cudaGraphDestroy(graph);
      return run;
    }
    LLIVE_CUDA_RETURN_IF_ERROR(end, "capturing the RWKV-7 decode graph");
    const cudaError_t instantiated = cudaGraphInstantiate(&batch.step_graph_, graph, 0);
    cudaGraphDestroy(graph);
    LLIVE_CUDA_RETURN_IF_ERROR(instantiated, "instantiating the RWKV-7 decode graph");
  }
  LLIVE_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(batch.step_graph_, stream_),
                             "launching the RWKV-7 decode graph");
  for (int64_t& position : batch.positions_) position += 1;
  return absl::OkStatus();
}

absl::Status Rwkv7CudaModel::RunAnyType(Rwkv7CudaBatch& batch, int64_t length, bool want_logits) {
  switch (dtype_) {
    case WeightDtype::kBf16:
      return Run<__nv_bfloat16>(batch, length, want_logits);
    case WeightDtype::kFp16:
      return Run<__half>(batch, length, want_logits);
    case WeightDtype::kFp32:
      return Run<float>(batch, length, want_logits);
  }
  return absl::InternalError("unknown weight type");
}

// Each matrix product of a pass: through cuBLAS for many rows (prefill), or, for the few rows
// of a decode step, through rwkv7::SmallBatchLinear, grouped so that products sharing a launch
// cost one node of the step's graph.
struct Rwkv7CudaModel::Product {
  rwkv7::SmallLinear linear;
  const DeviceTensor* weight = nullptr;
  void* scratch = nullptr;  // [rows, in] of Act: the activated input on the cuBLAS path
};

template <typename Act>
absl::Status Rwkv7CudaModel::Products(absl::Span<const Product> products, int64_t rows) {
  if (rows <= rwkv7::kMaxSmallLinearRows && small_products_) {
    rwkv7::SmallLinear linears[rwkv7::kMaxSmallLinears];
    for (size_t i = 0; i < products.size(); ++i) linears[i] = products[i].linear;
    LLIVE_CUDA_RETURN_IF_ERROR(
        rwkv7::SmallBatchLinear<Act>(linears, static_cast<int>(products.size()), rows, stream_),
        "RWKV-7 small-batch products");
    return absl::OkStatus();
  }
  for (const Product& product : products) {
    const rwkv7::SmallLinear& p = product.linear;
    const DeviceTensor& weight = *product.weight;
    const void* x = p.x;
    const WeightDtype y_type =
        p.output == rwkv7::SmallLinearOutput::kReluSquareAct ? dtype_ : WeightDtype::kFp32;
    if (p.input != rwkv7::SmallLinearInput::kAct) {
      // cuBLAS multiplies like with like: activate the fp32 input into the weights' type.
      Act* converted = static_cast<Act*>(product.scratch);
      LLIVE_CUDA_RETURN_IF_ERROR(rwkv7::ActivateInto(static_cast<const float*>(p.x), rows * p.in,
                                                     p.input, converted, stream_),
                                 "RWKV-7 low-rank activation");
      x = converted;
    }
    LLIVE_RETURN_IF_ERROR(gemm_->Linear(x, rows, p.in, p.ldx, weight, p.out, p.y, y_type, p.ldy,
                                        1.0f,
                                        p.output == rwkv7::SmallLinearOutput::kAdd ? 1.0f : 0.0f));
    if (p.output == rwkv7::SmallLinearOutput::kReluSquareAct) {
      LLIVE_CUDA_RETURN_IF_ERROR(
          rwkv7::ReluSquareInPlace(static_cast<Act*>(p.y), rows * p.out, stream_), "RWKV-7 relu^2");
    }
  }
  return absl::OkStatus();
}

template <typename Act>
absl::Status Rwkv7CudaModel::Run(Rwkv7CudaBatch& s, int64_t length, bool want_logits) {
  using rwkv7::SmallLinearInput;
  using rwkv7::SmallLinearOutput;
  const Rwkv7Config& c = config_;
  const int64_t batch = s.capacity();
  const int64_t rows = batch * length;
  const int64_t d = c.d_model;
  const int64_t f = c.d_ffn;
  const int64_t n = c.head_size;
  const int64_t heads = c.n_head();
  const float eps = c.norm_eps;
  cudaStream_t stream = stream_;
  float* x = s.x_.data();
  Act* mixed = As<Act>(s.mixed_);
  auto mixed_of = [&](Lerp lerp) { return mixed + lerp * rows * d; };
  const int64_t ranks[4] = {c.decay_rank, c.iclr_rank, c.value_rank, c.gate_rank};
  const SmallLinearInput act = SmallLinearInput::kAct;
  const SmallLinearOutput store = SmallLinearOutput::kStore;
  const SmallLinearOutput add = SmallLinearOutput::kAdd;
  // y[rows, ldy] (op)= f(x[rows, ldx]) weight^T
  auto product = [&](const void* in_x, int64_t ldx, SmallLinearInput input,
                     const DeviceTensor& weight, int64_t in, int64_t out, void* y, int64_t ldy,
                     SmallLinearOutput output, void* scratch = nullptr) {
    Product p;
    p.linear.x = in_x;
    p.linear.ldx = ldx;
    p.linear.input = input;
    p.linear.weight = weight.data();
    p.linear.in = in;
    p.linear.out = out;
    p.linear.y = y;
    p.linear.ldy = ldy;
    p.linear.output = output;
    p.weight = &weight;
    p.scratch = scratch;
    return p;
  };

  // x: [rows, D] = ln0(embedding[tokens])
  LLIVE_CUDA_RETURN_IF_ERROR(
      rwkv7::EmbedLayerNorm(s.tokens_.data(), As<Act>(embedding_), ln0_weight_.data(),
                            ln0_bias_.data(), rows, d, eps, x, stream),
      "RWKV-7 embedding");
  for (int64_t l = 0; l < c.n_layer; ++l) {
    Layer& layer = layers_[l];
    const bool first = l == 0;
    // Time mix. mixed: [6, rows, D] = lerp(LN(x), shifted LN(x)).
    LLIVE_CUDA_RETURN_IF_ERROR(
        rwkv7::NormShiftLerp(x, layer.attn_norm_weight.data(), layer.attn_norm_bias.data(),
                             layer.lerp.data(), 6, s.shift_att_.data() + l * batch * d, batch,
                             length, d, eps, mixed, stream),
        "RWKV-7 time-mix shift");
    // r, k, v: [rows, D]; the low-rank paths down to [rows, rank] ...
    std::vector<Product> down = {
        product(mixed_of(kLerpR), d, act, layer.receptance, d, d, s.r_.data(), d, store),
        product(mixed_of(kLerpK), d, act, layer.key, d, d, s.k_.data(), d, store),
        product(mixed_of(kLerpV), d, act, layer.value, d, d, s.v_.data(), d, store),
        product(mixed_of(kLerpW), d, act, layer.w1, d, ranks[kPathW], s.down_[kPathW].data(),
                ranks[kPathW], store),
        product(mixed_of(kLerpA), d, act, layer.a1, d, ranks[kPathA], s.down_[kPathA].data(),
                ranks[kPathA], store),
        product(mixed_of(kLerpG), d, act, layer.g1, d, ranks[kPathG], s.down_[kPathG].data(),
                ranks[kPathG], store)};
    // ... and up again: w from tanh, a and v from the identity, g from sigmoid.
    std::vector<Product> up = {
        product(s.down_[kPathW].data(), ranks[kPathW], SmallLinearInput::kFloatTanh, layer.w2,
                ranks[kPathW], d, s.w_.data(), d, store, s.low_rank_[kPathW].data()),
        product(s.down_[kPathA].data(), ranks[kPathA], SmallLinearInput::kFloat, layer.a2,
                ranks[kPathA], d, s.a_.data(), d, store, s.low_rank_[kPathA].data()),
        product(s.down_[kPathG].data(), ranks[kPathG], SmallLinearInput::kFloatSigmoid, layer.g2,
                ranks[kPathG], d, s.g_.data(), d, store, s.low_rank_[kPathG].data())};
    if (!first) {  // the value residual's gate
      down.push_back(product(mixed_of(kLerpV), d, act, layer.v1, d, ranks[kPathV],
                             s.down_[kPathV].data(), ranks[kPathV], store));
      up.push_back(product(s.down_[kPathV].data(), ranks[kPathV], SmallLinearInput::kFloat,
                           layer.v2, ranks[kPathV], d, s.v_gate_.data(), d, store,
                           s.low_rank_[kPathV].data()));
    }
    LLIVE_RETURN_IF_ERROR(Products<Act>(down, rows));
    LLIVE_RETURN_IF_ERROR(Products<Act>(up, rows));
    // w, a, kappa, k and the value residual, per head.
    rwkv7::WkvPrepare prepare;
    prepare.w = s.w_.data();
    prepare.a = s.a_.data();
    prepare.k = s.k_.data();
    prepare.v = s.v_.data();
    prepare.kappa = s.kappa_.data();
    prepare.v_first = s.v_first_.data();
    prepare.v_gate = first ? nullptr : s.v_gate_.data();
    prepare.w0 = layer.w0.data();
    prepare.a0 = layer.a0.data();
    prepare.v0 = first ? nullptr : layer.v0.data();
    prepare.k_k = layer.k_k.data();
    prepare.k_a = layer.k_a.data();
    if (length == 1) {
      // Decoding: preparation, the step and the group norm in one launch.
      rwkv7::WkvStepNorm norm;
      norm.r = s.r_.data();
      norm.g = s.g_.data();
      norm.ln_x_weight = layer.ln_x_weight.data();
      norm.ln_x_bias = layer.ln_x_bias.data();
      norm.r_k = layer.r_k.data();
      LLIVE_CUDA_RETURN_IF_ERROR(
          rwkv7::WkvDecodeStep(prepare, norm, s.wkv_.data() + l * batch * heads * n * n, batch,
                               heads, n, eps, As<Act>(s.gated_), stream),
          "RWKV-7 WKV step");
    } else {
      LLIVE_CUDA_RETURN_IF_ERROR(rwkv7::PrepareWkv(prepare, rows, d, n, stream),
                                 "RWKV-7 WKV preparation");
      // y: [rows, D] = S r, S carried across the tokens of each slot.
      LLIVE_CUDA_RETURN_IF_ERROR(
          rwkv7::Wkv(s.r_.data(), s.w_.data(), s.k_.data(), s.v_.data(), s.kappa_.data(),
                     s.a_.data(), s.wkv_.data() + l * batch * heads * n * n, batch, length, heads,
                     n, s.y_.data(), stream),
          "RWKV-7 WKV");
      LLIVE_CUDA_RETURN_IF_ERROR(
          rwkv7::GroupNormBonusGate(s.y_.data(), s.r_.data(), s.k_.data(), s.v_.data(), s.g_.data(),
                                    layer.ln_x_weight.data(), layer.ln_x_bias.data(),
                                    layer.r_k.data(), rows, d, n, eps, As<Act>(s.gated_), stream),
          "RWKV-7 group norm and gate");
    }
    // x += output(gated)
    const Product output = product(As<Act>(s.gated_), d, act, layer.output, d, d, x, d, add);
    LLIVE_RETURN_IF_ERROR(Products<Act>({&output, 1}, rows));
    // Channel mix: x += value(relu(key(lerp(LN(x), shifted LN(x))))^2)
    LLIVE_CUDA_RETURN_IF_ERROR(
        rwkv7::NormShiftLerp(x, layer.ffn_norm_weight.data(), layer.ffn_norm_bias.data(),
                             layer.ffn_lerp_k.data(), 1, s.shift_ffn_.data() + l * batch * d, batch,
                             length, d, eps, mixed, stream),
        "RWKV-7 channel-mix shift");
    const Product key = product(mixed, d, act, layer.ffn_key, d, f, As<Act>(s.hidden_act_), f,
                                SmallLinearOutput::kReluSquareAct);
    LLIVE_RETURN_IF_ERROR(Products<Act>({&key, 1}, rows));
    const Product value = product(As<Act>(s.hidden_act_), f, act, layer.ffn_value, f, d, x, d, add);
    LLIVE_RETURN_IF_ERROR(Products<Act>({&value, 1}, rows));
  }
  if (!want_logits) return absl::OkStatus();
  // logits: [batch, V] = head(LN_out(x of each slot's last token))
  LLIVE_CUDA_RETURN_IF_ERROR(
      rwkv7::LastRowLayerNorm(x, ln_out_weight_.data(), ln_out_bias_.data(), batch, length, d, eps,
                              As<Act>(s.last_), stream),
      "RWKV-7 final norm");
  const Product head = product(As<Act>(s.last_), d, act, head_, d, c.vocab_size, s.logits_.data(),
                               c.vocab_size, store);
  return Products<Act>({&head, 1}, batch);
}

}  // namespace llive::backends::cuda
