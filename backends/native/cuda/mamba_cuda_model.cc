// MambaCudaModel: the per-layer launch sequence (6 launches a layer: RMSNorm, in_proj GEMM,
// conv1d, x_proj GEMM, scan with dt_proj fused, out_proj GEMM adding into the residual; for
// decode batches of 2-64 the same six steps around split products), the slot pool, and the
// decode graphs.
#include "backends/native/cuda/mamba_cuda_model.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "backends/native/cuda/cublas_gemm.h"
#include "backends/native/cuda/cuda_status.h"
#include "backends/native/cuda/device_buffer.h"
#include "backends/native/cuda/device_selection.h"
#include "backends/native/cuda/device_tensor.h"
#include "backends/native/cuda/head_sample.h"
#include "backends/native/cuda/mamba_cuda_kernels.h"
#include "backends/native/cuda/programmatic_launch.h"
#include "backends/native/cuda/skinny_gemm.h"
#include "backends/native/cuda/split_linear.h"

namespace llive::backends::cuda {
namespace {

using native::MambaLayerWeights;
using native::MambaWeights;

#define LLIVE_RETURN_IF_ERROR(expr)                                                     \
  do {                                                                                  \
    if (absl::Status llive_status_ = (expr); !llive_status_.ok()) return llive_status_; \
  } while (false)

template <typename T>
absl::Status AllocateInto(DeviceBuffer<T>& buffer, size_t count) {
  absl::StatusOr<DeviceBuffer<T>> allocated = DeviceBuffer<T>::Allocate(count);
  if (!allocated.ok()) return allocated.status();
  buffer = *std::move(allocated);
  return absl::OkStatus();
}

absl::Status UploadFloats(DeviceBuffer<float>& buffer, const std::vector<float>& host,
                          cudaStream_t stream) {
  LLIVE_RETURN_IF_ERROR(AllocateInto(buffer, host.size()));
  return buffer.CopyFromHost(host.data(), host.size(), stream);
}

absl::Status UploadTensor(DeviceTensor& tensor, const std::vector<float>& host, WeightDtype dtype,
                          cudaStream_t stream) {
  absl::StatusOr<DeviceTensor> uploaded =
      DeviceTensor::Upload(host.data(), host.size(), dtype, stream);
  if (!uploaded.ok()) return uploaded.status();
  tensor = *std::move(uploaded);
  return absl::OkStatus();
}

struct LayerOnDevice {
  DeviceTensor in_proj, x_proj, out_proj;
  DeviceBuffer<float> norm, conv, conv_bias, dt_proj, dt_proj_bias, a, d;
};

// A recorded decode step for one bucket of batch sizes.
struct DecodeGraph {
  cudaGraphExec_t exec = nullptr;
  ~DecodeGraph() {
    if (exec != nullptr) cudaGraphExecDestroy(exec);
  }
};

}  // namespace

struct MambaCudaModel::Impl {
  MambaConfig config;
  MambaCudaOptions options;
  WeightDtype dtype = WeightDtype::kBf16;
  cudaStream_t stream = nullptr;
  // The other branches of a split decode step (options.split_decode_branches), forked from
  // and joined back into `stream` while a graph is captured: a stream and a join event each.
  std::vector<cudaStream_t> side_streams;
  std::vector<cudaEvent_t> join_events;
  cudaEvent_t fork_event = nullptr;
  // The rest is released by ~MambaCudaModel; these also when Create fails after making them.
  ~Impl() {
    for (cudaStream_t side : side_streams) cudaStreamDestroy(side);
    for (cudaEvent_t join : join_events) cudaEventDestroy(join);
    if (fork_event != nullptr) cudaEventDestroy(fork_event);
  }
  std::unique_ptr<GemmContext> gemm;
  mutable absl::Mutex mutex;

  // Weights.
  DeviceTensor embedding, lm_head;  // lm_head empty when tied
  DeviceBuffer<float> norm_f;
  std::vector<LayerOnDevice> layers;
  int64_t weight_bytes = 0;

  // Slot pool: conv [slots, n_layer, d_inner, d_conv - 1], ssm [slots, n_layer, d_inner,
  // d_state]. Slot 0 is never handed out: padded rows of a decode bucket write into it.
  DeviceBuffer<float> conv_states, ssm_states;
  int capacity = 0;
  std::set<int> free_slots, used_slots;

  // Activations, sized for max_rows = max(max_prefill_rows, Bucket(max_decode_batch)).
  int64_t max_rows = 0, logit_rows = 0;
  DeviceBuffer<float> x, dbc, logits, scan_scratch;
  DeviceTensor xn, uz, u, y;  // in the weights' type
  DeviceBuffer<int32_t> tokens, slots;
  // Decode inputs and outputs the graphs read and write.
  DeviceBuffer<int32_t> step_tokens, step_slots, sampled, history;
  // Each step's tokens of a graph of several decode steps: [decode_steps_per_graph][bucket].
  DeviceBuffer<int32_t> step_record;
  DeviceBuffer<uint64_t> sample_params;  // {seed, counter}
  DeviceBuffer<float> temperature;
  // Partial results of the multi-block sampler (mamba::SampleScratch) for up to
  // Bucket(max_decode_batch) rows; zeroed once, the kernel keeps its counters at zero.
  DeviceBuffer<uint8_t> sample_scratch;
  DeviceBuffer<unsigned int> rows_done;  // SampleAdvance's counter, zeroed once
  // By (bucket, logits wanted, steps in the graph).
  std::map<std::tuple<int, bool, int>, std::unique_ptr<DecodeGraph>> graphs;
  DeviceBuffer<uint8_t> head_scratch;  // HeadSample's; empty: not used
  // The split products of decode steps (SplitLayers), where the shapes suit them. One region
  // a branch holds each of the branch's products' slices: their consumer is the branch's next
  // kernel, which has finished before the following product writes (every kernel writes only
  // after its predecessor is done).
  bool split_ok = false;
  SplitLinearShape in_split, x_split, out_split;
  DeviceBuffer<float> split_slices;  // split_branches regions of branch_slice_floats
  int64_t branch_slice_floats = 0;
  // out_proj finishing the residual (options.fused_residual_norm_rows): a branch's rows' sums
  // of squares [d_model / out_split.block_out][rows] and its tiles' counters (zeroed once).
  bool fused_norm_ok = false;
  DeviceBuffer<float> norm_sumsq;   // split_branches regions of kSplitLinearMaxRows * norm tiles
  DeviceBuffer<int> norm_counters;  // split_branches regions of norm tiles
  int64_t norm_tiles() const { return config.d_model / out_split.block_out; }
  // x_proj folded into in_proj + convolution (options.fold_x_proj_groups): a branch's region
  // of partials [u tiles][rows][xdbc], of the groups' sums [groups][rows][xdbc] (what the scan
  // adds up) and of the groups' counters (zeroed once).
  bool fold_ok = false;
  DeviceBuffer<float> fold_partials;  // split_branches regions of fold_partial_floats
  DeviceBuffer<float> fold_sums;      // split_branches regions of fold_sum_floats
  DeviceBuffer<int> fold_counters;    // split_branches regions of fold_x_proj_groups
  int64_t fold_partial_floats = 0, fold_sum_floats = 0;

  int64_t conv_stride() const { return config.n_layer * config.d_inner * (config.d_conv - 1); }
  int64_t ssm_stride() const { return config.n_layer * config.d_inner * config.d_state; }
  // Layer `layer`'s states in slot 0 (the kernels add slot * stride).
  float* LayerConvStates(int layer) {
    return conv_states.data() + layer * config.d_inner * (config.d_conv - 1);
  }
  float* LayerSsmStates(int layer) {
    return ssm_states.data() + layer * config.d_inner * config.d_state;
  }
  const DeviceTensor& head() const { return config.tie_embeddings ? embedding : lm_head; }

  absl::Status Select() const {
    return CudaStatus(cudaSetDevice(options.device), "selecting the GPU");
  }

  absl::Status GrowSlots(int wanted) {
    int new_capacity = std::max(capacity * 2, std::max(wanted, options.initial_slots + 1));
    DeviceBuffer<float> conv, ssm;
    LLIVE_RETURN_IF_ERROR(AllocateInto(conv, static_cast<size_t>(new_capacity) * conv_stride()));
    LLIVE_RETURN_IF_ERROR(AllocateInto(ssm, static_cast<size_t>(new_capacity) * ssm_stride()));
    LLIVE_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(conv.data(), 0, conv.bytes(), stream),
                               "clearing the state pool");
    LLIVE_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(ssm.data(), 0, ssm.bytes(), stream),
                               "clearing the state pool");
    if (capacity > 0) {
      LLIVE_CUDA_RETURN_IF_ERROR(
          cudaMemcpyAsync(conv.data(), conv_states.data(), conv_states.bytes(),
                          cudaMemcpyDeviceToDevice, stream),
          "growing the state pool");
      LLIVE_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(ssm.data(), ssm_states.data(), ssm_states.bytes(),
                                                 cudaMemcpyDeviceToDevice, stream),
                                 "growing the state pool");
    }
    LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream), "growing the state pool");
    conv_states = std::move(conv);
    ssm_states = std::move(ssm);
    for (int slot = std::max(capacity, 1); slot < new_capacity; ++slot) free_slots.insert(slot);
    capacity = new_capacity;
    graphs.clear();  // they hold the old pool's addresses
    return absl::OkStatus();
  }

  absl::Status CheckSlots(absl::Span<const int> requested) const {
    if (requested.empty()) return absl::InvalidArgumentError("no sequences to run");
    std::set<int> seen;
    for (int slot : requested) {
      if (used_slots.count(slot) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("state slot ", slot, " is not held"));
      }
      if (!seen.insert(slot).second) {
        return absl::InvalidArgumentError(absl::StrCat("state slot ", slot, " appears twice"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status EnsureScanScratch(int64_t batch, int64_t length) {
    const int64_t floats =
        mamba::ScanScratchFloats(batch, length, config.d_inner, config.d_state, 0);
    if (floats <= static_cast<int64_t>(scan_scratch.size())) return absl::OkStatus();
    return AllocateInto(scan_scratch, floats);
  }

  // out[r] = weight . RMSNorm(x[r]) * norm for rows rows of x (stride d_model): one fused
  // launch for decode-sized batches, RMSNorm then GEMM otherwise.
  absl::Status NormLinear(const float* rows_x, int64_t rows, int64_t in, const float* norm,
                          const DeviceTensor& weight, int64_t out, void* y, WeightDtype y_dtype) {
    if (SkinnyLinearApplies(rows_x, rows, in, in, weight.data())) {
      return SkinnyNormLinear(rows_x, rows, in, in, norm, config.norm_epsilon, weight.data(), dtype,
                              out, y, y_dtype, out, stream);
    }
    LLIVE_RETURN_IF_ERROR(mamba::RmsNorm(rows_x, rows, 1, 0, in, norm, config.norm_epsilon,
                                         xn.data(), dtype, stream));
    return gemm->Linear(xn.data(), rows, in, in, weight, out, y, y_dtype, out);
  }

  // Embedding and every block for rows = batch * length tokens in `token_ids`, states in
  // `slot_ids` (device arrays). Leaves the residual stream in x.
  absl::Status Layers(const int32_t* token_ids, const int32_t* slot_ids, int64_t batch,
                      int64_t length) {
    const MambaConfig& c = config;
    const int64_t rows = batch * length;
    const int64_t xdbc = c.dt_rank + 2 * c.d_state;
    LLIVE_RETURN_IF_ERROR(mamba::EmbeddingGather(token_ids, rows, embedding.data(), dtype,
                                                 c.d_model, x.data(), stream));
    for (int layer = 0; layer < c.n_layer; ++layer) {
      LayerOnDevice& w = layers[layer];
      float* layer_conv_states = LayerConvStates(layer);
      if (length == 1 &&
          mamba::DecodeInProjConvApplies(x.data(), rows, c.d_model, w.in_proj.data())) {
        // Decoding a few sequences: norm, in_proj and the convolution step in one launch.
        LLIVE_RETURN_IF_ERROR(mamba::DecodeInProjConv(
            x.data(), rows, c.d_model, w.norm.data(), c.norm_epsilon, w.in_proj.data(), dtype,
            c.d_inner, c.d_conv, w.conv.data(), w.conv_bias.data(), slot_ids, layer_conv_states,
            conv_stride(), uz.data(), 2 * c.d_inner, u.data(), stream));
      } else {
        LLIVE_RETURN_IF_ERROR(NormLinear(x.data(), rows, c.d_model, w.norm.data(), w.in_proj,
                                         2 * c.d_inner, uz.data(), dtype));
        LLIVE_RETURN_IF_ERROR(mamba::CausalConv1d(uz.data(), 2 * c.d_inner, batch, length,
                                                  c.d_inner, c.d_conv, w.conv.data(),
                                                  w.conv_bias.data(), slot_ids, layer_conv_states,
                                                  conv_stride(), u.data(), dtype, stream));
      }
      LLIVE_RETURN_IF_ERROR(gemm->Linear(u.data(), rows, c.d_inner, c.d_inner, w.x_proj, xdbc,
                                         dbc.data(), WeightDtype::kFp32, xdbc));
      const mamba::ScanWeights scan{w.dt_proj.data(), w.dt_proj_bias.data(), w.a.data(),
                                    w.d.data()};
      LLIVE_RETURN_IF_ERROR(mamba::SelectiveScan(
          dbc.data(), xdbc, c.dt_rank, u.data(), uz.data(), 2 * c.d_inner, batch, length, c.d_inner,
          c.d_state, scan, slot_ids, LayerSsmStates(layer), ssm_stride(), 0, scan_scratch.data(),
          y.data(), dtype, stream));
      // x += out_proj(y): the residual add is the GEMM's beta = 1.
      LLIVE_RETURN_IF_ERROR(gemm->Linear(y.data(), rows, c.d_inner, c.d_inner, w.out_proj,
                                         c.d_model, x.data(), WeightDtype::kFp32, c.d_model, 1.0f,
                                         1.0f));
    }
    return absl::OkStatus();
  }

  // Final norm and LM head over out_rows rows of x (row o is x row o * row_step + offset).
  absl::Status Head(int64_t out_rows, int64_t row_step, int64_t row_offset) {
    const MambaConfig& c = config;
    const float* first = x.data() + row_offset * c.d_model;
    if (SkinnyLinearApplies(first, out_rows, c.d_model, row_step * c.d_model, head().data())) {
      return SkinnyNormLinear(first, out_rows, c.d_model, row_step * c.d_model, norm_f.data(),
                              c.norm_epsilon, head().data(), dtype, c.vocab_size, logits.data(),
                              WeightDtype::kFp32, c.vocab_size, stream);
    }
    LLIVE_RETURN_IF_ERROR(mamba::RmsNorm(x.data(), out_rows, row_step, row_offset, c.d_model,
                                         norm_f.data(), c.norm_epsilon, xn.data(), dtype, stream));
    return gemm->Linear(xn.data(), out_rows, c.d_model, c.d_model, head(), c.vocab_size,
                        logits.data(), WeightDtype::kFp32, c.vocab_size);
  }

  bool UsesSplitDecode(int bucket) const {
    // split_ok implies split_decode_min_rows > 0 (Create)
    return split_ok && bucket >= options.split_decode_min_rows && bucket <= kSplitLinearMaxRows;
  }

  // Rows [row0, row0 + rows) of an activation tensor `width` elements a row.
  static void* RowsOf(DeviceTensor& tensor, int64_t row0, int64_t width) {
    return static_cast<char*>(tensor.data()) + row0 * width * WeightDtypeBytes(tensor.dtype());
  }

  // The layers of a split decode step for rows [row0, row0 + rows) on `s`, one of `branches`
  // side by side (this one `branch`), the final norm included (xn), with the products' slices in
  // `slices`. A layer: the residual norm, in_proj with the convolution step (one
  // DecodeProductConv launch where it applies, else SplitLinear then DecodeConvFromParts),
  // x_proj (or, with fold_ok, inside DecodeProductConv: XProjFold, its groups' sums the scan's
  // slices), the scan step, out_proj (its slices added into x by the next residual norm; or,
  // with fused_norm_ok and DecodeProductConv, by out_proj's own last blocks, which leave the
  // next in_proj x * norm weight and the rows' sums of squares: no norm launch between layers).
  absl::Status SplitBranch(int64_t row0, int64_t rows, int64_t branch, int64_t branches,
                           cudaStream_t s, float* slices) {
    const MambaConfig& c = config;
    const int64_t xdbc = c.dt_rank + 2 * c.d_state;
    const bool programmatic = MambaProgrammaticLaunch();
    float* xr = x.data() + row0 * c.d_model;
    void* xnr = RowsOf(xn, row0, c.d_model);
    void* uzr = RowsOf(uz, row0, 2 * c.d_inner);
    void* ur = RowsOf(u, row0, c.d_inner);
    void* yr = RowsOf(y, row0, c.d_inner);
    const int32_t* slots_r = step_slots.data() + row0;
    const int64_t tiles = options.split_product_conv_tiles;
    const bool product_conv =
        tiles > 0 && mamba::DecodeProductConvApplies(rows, c.d_model, c.d_inner, c.d_conv, tiles);
    // Between layers, out_proj finishes the residual and in_proj scales its rows (no norm
    // launch); the branch's region of sums and counters.
    const bool fused_norm = product_conv && fused_norm_ok &&
                            rows <= options.fused_residual_norm_rows &&
                            rows * norm_tiles() <= mamba::kMaxRowScaleSums;
    float* sumsq =
        fused_norm ? norm_sumsq.data() + branch * kSplitLinearMaxRows * norm_tiles() : nullptr;
    int* counters = fused_norm ? norm_counters.data() + branch * norm_tiles() : nullptr;
    // x_proj inside in_proj + convolution; the branch's regions.
    const bool folds =
        product_conv && fold_ok &&
        mamba::DecodeProductConvApplies(rows, c.d_model, c.d_inner, c.d_conv, tiles, xdbc);
    float* fold_partials_r = folds ? fold_partials.data() + branch * fold_partial_floats : nullptr;
    float* fold_sums_r = folds ? fold_sums.data() + branch * fold_sum_floats : nullptr;
    int* fold_counters_r =
        folds ? fold_counters.data() + branch * options.fold_x_proj_groups : nullptr;
    LLIVE_RETURN_IF_ERROR(mamba::EmbeddingGather(step_tokens.data() + row0, rows, embedding.data(),
                                                 dtype, c.d_model, xr, s));
    int64_t pending = 0;  // out_proj slices not yet added into x
    for (int layer = 0; layer < c.n_layer; ++layer) {
      LayerOnDevice& w = layers[layer];
      const bool scaled = fused_norm && layer > 0;  // xnr: x * norm weight, not yet normalised
      if (!scaled) {
        LLIVE_RETURN_IF_ERROR(mamba::DecodeResidualNorm(xr, rows, c.d_model, slices, pending,
                                                        rows * c.d_model, w.norm.data(),
                                                        c.norm_epsilon, xnr, dtype, s));
      }
      if (product_conv) {
        const mamba::RowScale scale{scaled ? sumsq : nullptr, norm_tiles(), c.norm_epsilon};
        mamba::XProjFold fold;
        if (folds) {
          fold = {w.x_proj.data(), xdbc,        options.fold_x_proj_groups,
                  fold_partials_r, fold_sums_r, fold_counters_r};
        }
        LLIVE_RETURN_IF_ERROR(mamba::DecodeProductConv(
            xnr, rows, c.d_model, w.in_proj.data(), dtype, c.d_inner, c.d_conv, w.conv.data(),
            w.conv_bias.data(), slots_r, LayerConvStates(layer), conv_stride(), uzr, 2 * c.d_inner,
            ur, tiles, s, scale, fold));
      } else {
        LLIVE_RETURN_IF_ERROR(SplitLinear(xnr, rows, c.d_model, w.in_proj.data(), dtype, c.d_model,
                                          2 * c.d_inner, in_split, slices, programmatic, s));
        LLIVE_RETURN_IF_ERROR(mamba::DecodeConvFromParts(
            slices, in_split.splits, rows * 2 * c.d_inner, rows, c.d_inner, c.d_conv, w.conv.data(),
            w.conv_bias.data(), slots_r, LayerConvStates(layer), conv_stride(), uzr, 2 * c.d_inner,
            ur, dtype, s));
      }
      if (!folds) {
        LLIVE_RETURN_IF_ERROR(SplitLinear(ur, rows, c.d_inner, w.x_proj.data(), dtype, c.d_inner,
                                          xdbc, x_split, slices, programmatic, s));
      }
      const mamba::ScanWeights scan{w.dt_proj.data(), w.dt_proj_bias.data(), w.a.data(),
                                    w.d.data()};
      LLIVE_RETURN_IF_ERROR(mamba::SelectiveScan(
          folds ? fold_sums_r : slices, xdbc, c.dt_rank, ur, uzr, 2 * c.d_inner, rows, 1, c.d_inner,
          c.d_state, scan, slots_r, LayerSsmStates(layer), ssm_stride(), 0, nullptr, yr, dtype, s,
          mamba::DbcSlices{folds ? options.fold_x_proj_groups : x_split.splits, rows * xdbc,
                           branches}));
      if (fused_norm && layer + 1 < c.n_layer) {
        const SplitResidual residual{xr, layers[layer + 1].norm.data(), xnr, sumsq, counters};
        LLIVE_RETURN_IF_ERROR(SplitLinear(yr, rows, c.d_inner, w.out_proj.data(), dtype, c.d_inner,
                                          c.d_model, out_split, slices, programmatic, s,
                                          &residual));
        pending = 0;
        continue;
      }
      LLIVE_RETURN_IF_ERROR(SplitLinear(yr, rows, c.d_inner, w.out_proj.data(), dtype, c.d_inner,
                                        c.d_model, out_split, slices, programmatic, s));
      pending = out_split.splits;
    }
    return mamba::DecodeResidualNorm(xr, rows, c.d_model, slices, pending, rows * c.d_model,
                                     norm_f.data(), c.norm_epsilon, xnr, dtype, s);
  }

  // A decode step's blocks and LM head for `rows` sequences from step_tokens/step_slots through
  // the split products: per layer
  //   xn = RMSNorm(x += out_proj slices of the layer before)     DecodeResidualNorm
  //   in_proj slices = xn . in_proj^T                            [splits, rows, 2 d_inner]
  //   u, z = SiLU(conv step(sum of slices)), z                   DecodeConvFromParts
  //   x_proj slices = u . x_proj^T                               [splits, rows, xdbc]
  //   y = scan step(sum of slices, u, z)                         SelectiveScan
  //   out_proj slices = y . out_proj^T                           [splits, rows, d_model]
  // then the last residual add with the final norm, and the head through cuBLAS. The rows run
  // these in up to options.split_decode_branches branches (SplitBranch) of at least
  // split_decode_branch_rows rows, side by side on streams forked from the one being captured:
  // each chain of small launches is bound by its latency, and the other branches' launches fill
  // its gaps (2026-12-02, batch 64 in two branches of 32: 687 against 801 us a step).
  absl::Status SplitLayers(int64_t rows) {
    const int64_t branches =
        std::min<int64_t>(static_cast<int64_t>(side_streams.size()) + 1,
                          std::max<int64_t>(1, rows / options.split_decode_branch_rows));
    if (branches > 1) {
      LLIVE_CUDA_RETURN_IF_ERROR(cudaEventRecord(fork_event, stream), "forking the decode step");
      for (int64_t i = 1; i < branches; ++i) {
        LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamWaitEvent(side_streams[i - 1], fork_event, 0),
                                   "forking the decode step");
      }
    }
    absl::Status recorded = absl::OkStatus();
    for (int64_t i = 0; i < branches && recorded.ok(); ++i) {
      const int64_t first = i * rows / branches, end = (i + 1) * rows / branches;
      recorded = SplitBranch(first, end - first, i, branches, i == 0 ? stream : side_streams[i - 1],
                             split_slices.data() + i * branch_slice_floats);
    }
    // Joined even after a failed launch, so that the capture can end; the first error is the
    // one reported.
    for (int64_t i = 1; i < branches; ++i) {
      cudaError_t joined = cudaEventRecord(join_events[i - 1], side_streams[i - 1]);
      if (joined == cudaSuccess) joined = cudaStreamWaitEvent(stream, join_events[i - 1], 0);
      if (recorded.ok()) recorded = CudaStatus(joined, "joining the decode step");
    }
    return recorded;
  }

  // Whether a split step of `bucket` rows whose logits nobody reads draws its tokens in the
  // head's launch (HeadSample) instead of cuBLAS's head and SampleTokens.
  bool UsesHeadSample(int bucket) const {
    return options.fused_head_sample && UsesSplitDecode(bucket) &&
           HeadSampleApplies(bucket, config.d_model) && head_scratch.bytes() > 0;
  }

  // The whole decode step for `bucket` rows from step_tokens/step_slots, sampling included,
  // its tokens also into `record`; `logits`: the step leaves them in `logits` (Step reads
  // them), else only the tokens count.
  absl::Status DecodeStep(int bucket, bool logits_wanted, int32_t* record) {
    if (UsesSplitDecode(bucket)) {
      LLIVE_RETURN_IF_ERROR(SplitLayers(bucket));
      if (!logits_wanted && UsesHeadSample(bucket)) {
        LLIVE_RETURN_IF_ERROR(HeadSample(xn.data(), bucket, config.d_model, head().data(),
                                         config.vocab_size, dtype, temperature.data(),
                                         sample_params.data(), sampled.data(), head_scratch.data(),
                                         MambaProgrammaticLaunch(), stream));
        return mamba::AdvanceDecode(sampled.data(), bucket, step_tokens.data(),
                                    sample_params.data(), stream, record);
      }
      // One head for all rows, after the join: a cuBLAS head a branch, each on its own stream,
      // made batch-64 steps slower (2026-12-02: 707 against 687 us).
      LLIVE_RETURN_IF_ERROR(gemm->Linear(xn.data(), bucket, config.d_model, config.d_model, head(),
                                         config.vocab_size, logits.data(), WeightDtype::kFp32,
                                         config.vocab_size));
    } else {
      LLIVE_RETURN_IF_ERROR(Layers(step_tokens.data(), step_slots.data(), bucket, 1));
      LLIVE_RETURN_IF_ERROR(Head(bucket, 1, 0));
    }
    const mamba::SampleScratch scratch{sample_scratch.data(),
                                       static_cast<int64_t>(sample_scratch.bytes()),
                                       Bucket(options.max_decode_batch)};
    if (options.sampler_ends_step && sample_scratch.data() != nullptr) {
      // The sampler ends the step itself (SampleAdvance): a launch fewer than AdvanceDecode.
      const mamba::SampleAdvance advance{step_tokens.data(), record, sample_params.data(),
                                         rows_done.data()};
      return mamba::SampleTokens(logits.data(), bucket, config.vocab_size, temperature.data(),
                                 sample_params.data(), sampled.data(), stream, scratch, advance);
    }
    LLIVE_RETURN_IF_ERROR(mamba::SampleTokens(logits.data(), bucket, config.vocab_size,
                                              temperature.data(), sample_params.data(),
                                              sampled.data(), stream, scratch));
    return mamba::AdvanceDecode(sampled.data(), bucket, step_tokens.data(), sample_params.data(),
                                stream, record);
  }

  // The decode graph of `steps` steps of `bucket` rows, step j's tokens into step_record row j;
  // `logits_wanted`: one that leaves the logits in `logits` (for Step; Decode's need not,
  // UsesHeadSample).
  absl::StatusOr<DecodeGraph*> GraphFor(int bucket, bool logits_wanted, int steps = 1) {
    if (!UsesHeadSample(bucket)) logits_wanted = true;  // the same graph either way
    const std::tuple<int, bool, int> key{bucket, logits_wanted, steps};
    auto found = graphs.find(key);
    if (found != graphs.end()) return found->second.get();
    cudaGraph_t graph = nullptr;
    LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal),
                               "starting the decode graph capture");
    const MambaCaptureRows capture_rows(bucket, UsesSplitDecode(bucket));  // for MambaPdl::kAuto
    absl::Status recorded = absl::OkStatus();
    for (int j = 0; j < steps && recorded.ok(); ++j) {
      recorded = DecodeStep(bucket, logits_wanted, step_record.data() + j * bucket);
    }
    const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    if (!recorded.ok()) {
      if (graph != nullptr) cudaGraphDestroy(graph);
      return recorded;
    }
    LLIVE_CUDA_RETURN_IF_ERROR(ended, "recording the decode graph");
    auto decode = std::make_unique<DecodeGraph>();
    const cudaError_t instantiated = cudaGraphInstantiate(&decode->exec, graph, 0);
    cudaGraphDestroy(graph);
    LLIVE_CUDA_RETURN_IF_ERROR(instantiated, "instantiating the decode graph");
    DecodeGraph* raw = decode.get();
    graphs[key] = std::move(decode);
    return raw;
  }

  static int Bucket(int batch) {
    int bucket = 1;
    while (bucket < batch) bucket *= 2;
    return bucket;
  }

  // Writes the inputs of a decode step of `slot_ids` (padded to the bucket with slot 0).
  absl::Status StageStep(absl::Span<const int> slot_ids, absl::Span<const int32_t> token_ids,
                         int bucket) {
    std::vector<int32_t> host_tokens(bucket, 0), host_slots(bucket, 0);
    std::copy(token_ids.begin(), token_ids.end(), host_tokens.begin());
    std::copy(slot_ids.begin(), slot_ids.end(), host_slots.begin());
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(step_tokens.data(), host_tokens.data(), bucket * sizeof(int32_t),
                        cudaMemcpyHostToDevice, stream),
        "copying decode tokens");
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(step_slots.data(), host_slots.data(), bucket * sizeof(int32_t),
                        cudaMemcpyHostToDevice, stream),
        "copying decode slots");
    // The host vectors die here; pageable copies are staged before the call returns, but
    // synchronising keeps that independent of the driver's staging rules.
    return CudaStatus(cudaStreamSynchronize(stream), "copying decode inputs");
  }

  absl::Status SetSampling(float temp, uint64_t seed) {
    const uint64_t params[2] = {seed, 0};
    LLIVE_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(sample_params.data(), params, sizeof(params),
                                               cudaMemcpyHostToDevice, stream),
                               "copying sampling parameters");
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(temperature.data(), &temp, sizeof(float), cudaMemcpyHostToDevice, stream),
        "copying sampling parameters");
    return CudaStatus(cudaStreamSynchronize(stream), "copying sampling parameters");
  }
};

absl::StatusOr<std::unique_ptr<MambaCudaModel>> MambaCudaModel::Create(
    const MambaModel& model, const MambaCudaOptions& options) {
  const MambaConfig& c = model.config();
  if (c.use_bias) {
    return absl::InvalidArgumentError(
        "Mamba models with in_proj/out_proj biases do not run on the GPU yet; use --device cpu");
  }
  if (c.d_state != 4 && c.d_state != 8 && c.d_state != 16 && c.d_state != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("the GPU path supports d_state 4, 8, 16 or 32, this model has ", c.d_state,
                     "; use --device cpu"));
  }
  if (c.d_conv < 2 || c.d_conv > 8 || c.dt_rank > 8 * c.d_state) {
    return absl::InvalidArgumentError(
        absl::StrCat("the GPU path supports d_conv 2..8 and dt_rank"
                     " up to 8 * d_state; this model has d_conv ",
                     c.d_conv, ", dt_rank ", c.dt_rank));
  }
  if (options.max_prefill_rows < 1 || options.max_decode_batch < 1 || options.max_logit_rows < 1 ||
      options.initial_slots < 1) {
    return absl::InvalidArgumentError("MambaCudaOptions sizes must be positive");
  }
  if (options.split_decode_branch_rows < 1) {
    return absl::InvalidArgumentError(
        "MambaCudaOptions::split_decode_branch_rows must be positive");
  }
  if (options.decode_steps_per_graph < 1 ||
      options.decode_steps_per_graph > kMaxDecodeStepsPerGraph) {
    return absl::InvalidArgumentError(
        absl::StrCat("MambaCudaOptions::decode_steps_per_graph is 1..", kMaxDecodeStepsPerGraph,
                     ", not ", options.decode_steps_per_graph));
  }
  if (options.fold_x_proj_groups < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "MambaCudaOptions::fold_x_proj_groups must be >= 0, not ", options.fold_x_proj_groups));
  }
  if (options.split_decode_branches < 1 || options.split_decode_branches > kMaxDecodeBranches) {
    return absl::InvalidArgumentError(absl::StrCat("MambaCudaOptions::split_decode_branches is 1..",
                                                   kMaxDecodeBranches, ", not ",
                                                   options.split_decode_branches));
  }
  absl::StatusOr<Device> device = SelectDevice(absl::StrCat("cuda:", options.device));
  if (!device.ok()) return device.status();

  auto impl = std::make_unique<Impl>();
  impl->config = c;
  impl->options = options;
  impl->dtype = options.weight_dtype;
  LLIVE_RETURN_IF_ERROR(impl->Select());
  LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking),
                             "creating the model's stream");
  absl::StatusOr<std::unique_ptr<GemmContext>> gemm = GemmContext::Create(impl->stream);
  if (!gemm.ok()) return gemm.status();
  impl->gemm = *std::move(gemm);

  const MambaWeights& w = model.weights();
  cudaStream_t stream = impl->stream;
  const WeightDtype dtype = impl->dtype;
  LLIVE_RETURN_IF_ERROR(UploadTensor(impl->embedding, w.embedding, dtype, stream));
  if (!c.tie_embeddings)
    LLIVE_RETURN_IF_ERROR(UploadTensor(impl->lm_head, w.lm_head, dtype, stream));
  LLIVE_RETURN_IF_ERROR(UploadFloats(impl->norm_f, w.norm_f, stream));
  impl->weight_bytes = impl->embedding.bytes() + impl->lm_head.bytes() + impl->norm_f.bytes();
  impl->layers.resize(c.n_layer);
  for (int i = 0; i < c.n_layer; ++i) {
    const MambaLayerWeights& l = w.layers[i];
    LayerOnDevice& d = impl->layers[i];
    LLIVE_RETURN_IF_ERROR(UploadTensor(d.in_proj, l.in_proj, dtype, stream));
    LLIVE_RETURN_IF_ERROR(UploadTensor(d.x_proj, l.x_proj, dtype, stream));
    LLIVE_RETURN_IF_ERROR(UploadTensor(d.out_proj, l.out_proj, dtype, stream));
    LLIVE_RETURN_IF_ERROR(UploadFloats(d.norm, l.norm, stream));
    LLIVE_RETURN_IF_ERROR(UploadFloats(d.conv, l.conv, stream));
    LLIVE_RETURN_IF_ERROR(UploadFloats(d.conv_bias, l.conv_bias, stream));
    LLIVE_RETURN_IF_ERROR(UploadFloats(d.dt_proj, l.dt_proj, stream));
    LLIVE_RETURN_IF_ERROR(UploadFloats(d.dt_proj_bias, l.dt_proj_bias, stream));
    LLIVE_RETURN_IF_ERROR(UploadFloats(d.a, l.a, stream));
    LLIVE_RETURN_IF_ERROR(UploadFloats(d.d, l.d, stream));
    impl->weight_bytes += d.in_proj.bytes() + d.x_proj.bytes() + d.out_proj.bytes() +
                          d.norm.bytes() + d.conv.bytes() + d.conv_bias.bytes() +
                          d.dt_proj.bytes() + d.dt_proj_bias.bytes() + d.a.bytes() + d.d.bytes();
  }

  // A decode step runs a bucket of rows (the batch rounded up to a power of two, padded rows
  // on slot 0), so every per-row buffer holds the largest bucket, not just max_decode_batch.
  const int max_bucket = Impl::Bucket(options.max_decode_batch);
  const int64_t rows = std::max<int64_t>(options.max_prefill_rows, max_bucket);
  impl->max_rows = rows;
  impl->logit_rows = std::max<int64_t>(options.max_logit_rows, max_bucket);
  const int64_t xdbc = c.dt_rank + 2 * c.d_state;
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->x, rows * c.d_model));
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->dbc, rows * xdbc));
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->logits, impl->logit_rows * c.vocab_size));
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->tokens, rows));
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->slots, rows));
  for (auto [tensor, count] :
       {std::pair{&impl->xn, rows * c.d_model}, std::pair{&impl->uz, rows * 2 * c.d_inner},
        std::pair{&impl->u, rows * c.d_inner}, std::pair{&impl->y, rows * c.d_inner}}) {
    absl::StatusOr<DeviceTensor> allocated = DeviceTensor::Allocate(dtype, count);
    if (!allocated.ok()) return allocated.status();
    *tensor = *std::move(allocated);
  }
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->step_tokens, max_bucket));
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->step_slots, max_bucket));
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->sampled, max_bucket));
  LLIVE_RETURN_IF_ERROR(AllocateInto(
      impl->step_record, static_cast<size_t>(options.decode_steps_per_graph) * max_bucket));
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->sample_params, 2));
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->temperature, 1));
  LLIVE_RETURN_IF_ERROR(
      AllocateInto(impl->sample_scratch,
                   static_cast<size_t>(mamba::SampleScratchBytes(max_bucket, c.vocab_size))));
  if (options.fused_head_sample && dtype != WeightDtype::kFp32) {
    LLIVE_RETURN_IF_ERROR(
        AllocateInto(impl->head_scratch, static_cast<size_t>(HeadSampleScratchBytes())));
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(impl->head_scratch.data(), 0, impl->head_scratch.bytes(), impl->stream),
        "clearing the head + sample scratch");
  }
  LLIVE_RETURN_IF_ERROR(AllocateInto(impl->rows_done, 1));
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemsetAsync(impl->rows_done.data(), 0, sizeof(unsigned int), impl->stream),
      "clearing the sampler's row counter");
  if (impl->sample_scratch.bytes() > 0) {
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(impl->sample_scratch.data(), 0, impl->sample_scratch.bytes(), impl->stream),
        "clearing the sampling scratch");
  }
  if (dtype != WeightDtype::kFp32 && c.d_model % 8 == 0 && c.d_model <= 4096 &&
      c.d_inner % 8 == 0 && options.split_decode_min_rows > 0) {
    absl::StatusOr<SplitLinearShape> in_split =
        ChooseSplitLinear(c.d_model, 2 * c.d_inner, options.split_in_proj_blocks);
    absl::StatusOr<SplitLinearShape> x_split =
        ChooseSplitLinear(c.d_inner, xdbc, options.split_x_proj_blocks);
    absl::StatusOr<SplitLinearShape> out_split =
        ChooseSplitLinear(c.d_inner, c.d_model, options.split_out_proj_blocks);
    if (in_split.ok() && x_split.ok() && out_split.ok()) {
      impl->split_ok = true;
      impl->in_split = *in_split;
      impl->x_split = *x_split;
      impl->out_split = *out_split;
      const int64_t split_rows = std::min<int64_t>(max_bucket, kSplitLinearMaxRows);
      impl->branch_slice_floats =
          split_rows * std::max({in_split->splits * 2 * c.d_inner, x_split->splits * xdbc,
                                 out_split->splits * c.d_model});
      const int branches = options.split_decode_branches;
      LLIVE_RETURN_IF_ERROR(AllocateInto(impl->split_slices, branches * impl->branch_slice_floats));
      if (options.fused_residual_norm_rows > 0 && SplitResidualApplies(*out_split) &&
          c.d_model % out_split->block_out == 0) {
        impl->fused_norm_ok = true;
        const int64_t tiles = impl->norm_tiles();
        LLIVE_RETURN_IF_ERROR(
            AllocateInto(impl->norm_sumsq, branches * kSplitLinearMaxRows * tiles));
        LLIVE_RETURN_IF_ERROR(AllocateInto(impl->norm_counters, branches * tiles));
        LLIVE_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(impl->norm_counters.data(), 0,
                                                   impl->norm_counters.bytes(), impl->stream),
                                   "clearing out_proj's tile counters");
      }
      const int64_t product_tiles = options.split_product_conv_tiles;
      if (options.fold_x_proj_groups > 0 && product_tiles > 0 &&
          mamba::XProjFoldGroupsValid(c.d_inner, product_tiles, options.fold_x_proj_groups) &&
          xdbc % 16 == 0 && xdbc <= mamba::kMaxFoldWidth) {
        impl->fold_ok = true;
        impl->fold_partial_floats = c.d_inner / (16 * product_tiles) * split_rows * xdbc;
        impl->fold_sum_floats = options.fold_x_proj_groups * split_rows * xdbc;
        LLIVE_RETURN_IF_ERROR(
            AllocateInto(impl->fold_partials, branches * impl->fold_partial_floats));
        LLIVE_RETURN_IF_ERROR(AllocateInto(impl->fold_sums, branches * impl->fold_sum_floats));
        LLIVE_RETURN_IF_ERROR(
            AllocateInto(impl->fold_counters, branches * options.fold_x_proj_groups));
        LLIVE_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(impl->fold_counters.data(), 0,
                                                   impl->fold_counters.bytes(), impl->stream),
                                   "clearing the x_proj fold's group counters");
      }
      if (branches > 1) {
        LLIVE_CUDA_RETURN_IF_ERROR(
            cudaEventCreateWithFlags(&impl->fork_event, cudaEventDisableTiming),
            "creating the decode fork event");
      }
      for (int i = 1; i < branches; ++i) {
        cudaStream_t side = nullptr;
        cudaEvent_t join = nullptr;
        LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&side, cudaStreamNonBlocking),
                                   "creating a decode branch stream");
        impl->side_streams.push_back(side);
        LLIVE_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&join, cudaEventDisableTiming),
                                   "creating a decode join event");
        impl->join_events.push_back(join);
      }
    }
  }
  LLIVE_RETURN_IF_ERROR(impl->SetSampling(0.0f, 0));
  LLIVE_RETURN_IF_ERROR(impl->GrowSlots(options.initial_slots + 1));
  return std::unique_ptr<MambaCudaModel>(new MambaCudaModel(std::move(impl)));
}

MambaCudaModel::MambaCudaModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MambaCudaModel::~MambaCudaModel() {
  if (impl_ == nullptr) return;
  cudaSetDevice(impl_->options.device);
  cudaStreamSynchronize(impl_->stream);
  impl_->graphs.clear();
  impl_->gemm.reset();
  cudaStreamDestroy(impl_->stream);
}

const MambaConfig& MambaCudaModel::config() const { return impl_->config; }
WeightDtype MambaCudaModel::weight_dtype() const { return impl_->dtype; }
int64_t MambaCudaModel::weight_bytes() const { return impl_->weight_bytes; }
int64_t MambaCudaModel::state_bytes() const {
  return (impl_->conv_stride() + impl_->ssm_stride()) * static_cast<int64_t>(sizeof(float));
}

int64_t MambaCudaModel::device_bytes() const {
  absl::MutexLock lock(&impl_->mutex);
  const Impl& m = *impl_;
  int64_t bytes = m.weight_bytes + m.conv_states.bytes() + m.ssm_states.bytes() + m.x.bytes() +
                  m.uz.bytes() + m.u.bytes() + m.dbc.bytes() + m.logits.bytes() +
                  m.scan_scratch.bytes() + m.xn.bytes() + m.y.bytes() + m.tokens.bytes() +
                  m.slots.bytes() + m.history.bytes() + m.sample_scratch.bytes() +
                  m.head_scratch.bytes() + m.split_slices.bytes() + m.norm_sumsq.bytes() +
                  m.norm_counters.bytes() + m.fold_partials.bytes() + m.fold_sums.bytes() +
                  m.fold_counters.bytes() +
                  static_cast<int64_t>(GemmContext::kDefaultWorkspaceBytes);
  return bytes;
}

absl::StatusOr<int> MambaCudaModel::NewSlot() {
  absl::MutexLock lock(&impl_->mutex);
  Impl& m = *impl_;
  LLIVE_RETURN_IF_ERROR(m.Select());
  if (m.free_slots.empty()) LLIVE_RETURN_IF_ERROR(m.GrowSlots(m.capacity + 1));
  const int slot = *m.free_slots.begin();
  LLIVE_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(m.conv_states.data() + slot * m.conv_stride(), 0,
                                             m.conv_stride() * sizeof(float), m.stream),
                             "clearing a state slot");
  LLIVE_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(m.ssm_states.data() + slot * m.ssm_stride(), 0,
                                             m.ssm_stride() * sizeof(float), m.stream),
                             "clearing a state slot");
  m.free_slots.erase(slot);
  m.used_slots.insert(slot);
  return slot;
}

void MambaCudaModel::ReleaseSlot(int slot) {
  absl::MutexLock lock(&impl_->mutex);
  if (impl_->used_slots.erase(slot) > 0) impl_->free_slots.insert(slot);
}

absl::Status MambaCudaModel::CopySlot(int from, int to) {
  absl::MutexLock lock(&impl_->mutex);
  Impl& m = *impl_;
  if (m.used_slots.count(from) == 0 || m.used_slots.count(to) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("state slots ", from, " and ", to, " must both be held to copy"));
  }
  LLIVE_RETURN_IF_ERROR(m.Select());
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(m.conv_states.data() + to * m.conv_stride(),
                      m.conv_states.data() + from * m.conv_stride(),
                      m.conv_stride() * sizeof(float), cudaMemcpyDeviceToDevice, m.stream),
      "copying a state slot");
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(m.ssm_states.data() + to * m.ssm_stride(),
                      m.ssm_states.data() + from * m.ssm_stride(), m.ssm_stride() * sizeof(float),
                      cudaMemcpyDeviceToDevice, m.stream),
      "copying a state slot");
  return CudaStatus(cudaStreamSynchronize(m.stream), "copying a state slot");
}

absl::Status MambaCudaModel::Download(int slot, MambaState& state) {
  absl::MutexLock lock(&impl_->mutex);
  Impl& m = *impl_;
  const MambaConfig& c = m.config;
  if (m.used_slots.count(slot) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("state slot ", slot, " is not held"));
  }
  LLIVE_RETURN_IF_ERROR(m.Select());
  std::vector<float> conv(m.conv_stride()), ssm(m.ssm_stride());
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(conv.data(), m.conv_states.data() + slot * m.conv_stride(),
                      conv.size() * sizeof(float), cudaMemcpyDeviceToHost, m.stream),
      "copying a state to the host");
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(ssm.data(), m.ssm_states.data() + slot * m.ssm_stride(),
                      ssm.size() * sizeof(float), cudaMemcpyDeviceToHost, m.stream),
      "copying a state to the host");
  LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(m.stream), "copying a state to the host");
  const int64_t conv_layer = c.d_inner * (c.d_conv - 1), ssm_layer = c.d_inner * c.d_state;
  state.conv.resize(c.n_layer);
  state.ssm.resize(c.n_layer);
  for (int layer = 0; layer < c.n_layer; ++layer) {
    state.conv[layer].assign(conv.begin() + layer * conv_layer,
                             conv.begin() + (layer + 1) * conv_layer);
    state.ssm[layer].assign(ssm.begin() + layer * ssm_layer, ssm.begin() + (layer + 1) * ssm_layer);
  }
  return absl::OkStatus();
}

absl::Status MambaCudaModel::Upload(const MambaState& state, int slot) {
  absl::MutexLock lock(&impl_->mutex);
  Impl& m = *impl_;
  const MambaConfig& c = m.config;
  if (m.used_slots.count(slot) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("state slot ", slot, " is not held"));
  }
  const size_t conv_layer = c.d_inner * (c.d_conv - 1), ssm_layer = c.d_inner * c.d_state;
  if (state.conv.size() != static_cast<size_t>(c.n_layer) ||
      state.ssm.size() != static_cast<size_t>(c.n_layer)) {
    return absl::InvalidArgumentError("the host state has the wrong number of layers");
  }
  std::vector<float> conv, ssm;
  conv.reserve(m.conv_stride());
  ssm.reserve(m.ssm_stride());
  for (int layer = 0; layer < c.n_layer; ++layer) {
    if (state.conv[layer].size() != conv_layer || state.ssm[layer].size() != ssm_layer) {
      return absl::InvalidArgumentError(
          absl::StrCat("the host state's layer ", layer, " has the wrong shape"));
    }
    conv.insert(conv.end(), state.conv[layer].begin(), state.conv[layer].end());
    ssm.insert(ssm.end(), state.ssm[layer].begin(), state.ssm[layer].end());
  }
  LLIVE_RETURN_IF_ERROR(m.Select());
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(m.conv_states.data() + slot * m.conv_stride(), conv.data(),
                      conv.size() * sizeof(float), cudaMemcpyHostToDevice, m.stream),
      "copying a state to the GPU");
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(m.ssm_states.data() + slot * m.ssm_stride(), ssm.data(),
                      ssm.size() * sizeof(float), cudaMemcpyHostToDevice, m.stream),
      "copying a state to the GPU");
  return CudaStatus(cudaStreamSynchronize(m.stream), "copying a state to the GPU");
}

absl::StatusOr<std::vector<float>> MambaCudaModel::Forward(absl::Span<const int> slots,
                                                           const int32_t* tokens, int64_t length,
                                                           bool all_positions) {
  absl::MutexLock lock(&impl_->mutex);
  Impl& m = *impl_;
  const MambaConfig& c = m.config;
  LLIVE_RETURN_IF_ERROR(m.CheckSlots(slots));
  if (length < 1) return absl::InvalidArgumentError("no tokens to feed");
  const int64_t batch = static_cast<int64_t>(slots.size());
  if (batch > m.max_rows || batch > m.logit_rows) {
    return absl::InvalidArgumentError(absl::StrCat("a prefill batch of ", batch,
                                                   " sequences exceeds the GPU model's limit of ",
                                                   std::min(m.max_rows, m.logit_rows)));
  }
  LLIVE_RETURN_IF_ERROR(m.Select());
  int64_t step = std::min(length, m.max_rows / batch);
  if (all_positions) step = std::min(step, m.logit_rows / batch);
  const std::vector<int32_t> slot_ids(slots.begin(), slots.end());
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(m.slots.data(), slot_ids.data(), batch * sizeof(int32_t),
                      cudaMemcpyHostToDevice, m.stream),
      "copying slots");
  std::vector<float> out(all_positions ? batch * length * c.vocab_size : batch * c.vocab_size);
  std::vector<int32_t> chunk_tokens;
  std::vector<float> chunk_logits;
  for (int64_t t0 = 0; t0 < length; t0 += step) {
    const int64_t len = std::min(step, length - t0);
    chunk_tokens.resize(batch * len);
    for (int64_t b = 0; b < batch; ++b) {
      std::copy(tokens + b * length + t0, tokens + b * length + t0 + len,
                chunk_tokens.begin() + b * len);
    }
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(m.tokens.data(), chunk_tokens.data(), chunk_tokens.size() * sizeof(int32_t),
                        cudaMemcpyHostToDevice, m.stream),
        "copying tokens");
    LLIVE_RETURN_IF_ERROR(m.EnsureScanScratch(batch, len));
    LLIVE_RETURN_IF_ERROR(m.Layers(m.tokens.data(), m.slots.data(), batch, len));
    const bool last = t0 + len == length;
    if (!all_positions && !last) {
      // The host buffers of this chunk are reused by the next.
      LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(m.stream), "prefill");
      continue;
    }
    const int64_t out_rows = all_positions ? batch * len : batch;
    LLIVE_RETURN_IF_ERROR(all_positions ? m.Head(out_rows, 1, 0) : m.Head(batch, len, len - 1));
    chunk_logits.resize(out_rows * c.vocab_size);
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(chunk_logits.data(), m.logits.data(), chunk_logits.size() * sizeof(float),
                        cudaMemcpyDeviceToHost, m.stream),
        "copying logits");
    LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(m.stream), "prefill");
    if (!all_positions) {
      out = chunk_logits;
      continue;
    }
    for (int64_t b = 0; b < batch; ++b) {
      std::copy(chunk_logits.begin() + b * len * c.vocab_size,
                chunk_logits.begin() + (b + 1) * len * c.vocab_size,
                out.begin() + (b * length + t0) * c.vocab_size);
    }
  }
  return out;
}

absl::StatusOr<std::vector<float>> MambaCudaModel::Step(absl::Span<const int> slots,
                                                        absl::Span<const int32_t> tokens) {
  absl::MutexLock lock(&impl_->mutex);
  Impl& m = *impl_;
  const int64_t vocab = m.config.vocab_size;
  LLIVE_RETURN_IF_ERROR(m.CheckSlots(slots));
  if (slots.size() != tokens.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a decode step got ", slots.size(), " slots and ", tokens.size(), " tokens"));
  }
  LLIVE_RETURN_IF_ERROR(m.Select());
  std::vector<float> out(slots.size() * vocab);
  const size_t max_batch = m.options.max_decode_batch;
  for (size_t start = 0; start < slots.size(); start += max_batch) {
    const size_t n = std::min(max_batch, slots.size() - start);
    const int bucket = Impl::Bucket(static_cast<int>(n));
    LLIVE_RETURN_IF_ERROR(m.StageStep(slots.subspan(start, n), tokens.subspan(start, n), bucket));
    absl::StatusOr<DecodeGraph*> graph = m.GraphFor(bucket, /*logits_wanted=*/true);
    if (!graph.ok()) return graph.status();
    LLIVE_CUDA_RETURN_IF_ERROR(cudaGraphLaunch((*graph)->exec, m.stream), "decode step");
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(out.data() + start * vocab, m.logits.data(), n * vocab * sizeof(float),
                        cudaMemcpyDeviceToHost, m.stream),
        "copying logits");
    LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(m.stream), "decode step");
  }
  return out;
}

absl::StatusOr<std::vector<int32_t>> MambaCudaModel::Decode(absl::Span<const int> slots,
                                                            absl::Span<const int32_t> first_tokens,
                                                            int steps, float temperature,
                                                            uint64_t seed) {
  absl::MutexLock lock(&impl_->mutex);
  Impl& m = *impl_;
  LLIVE_RETURN_IF_ERROR(m.CheckSlots(slots));
  if (slots.size() != first_tokens.size() ||
      slots.size() > static_cast<size_t>(m.options.max_decode_batch) || steps < 1 ||
      !(temperature >= 0.0f)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Decode needs one first token per slot, at most ", m.options.max_decode_batch,
        " slots, steps >= 1 and a temperature >= 0 (got ", slots.size(), " slots, ",
        first_tokens.size(), " tokens, ", steps, " steps, temperature ", temperature, ")"));
  }
  LLIVE_RETURN_IF_ERROR(m.Select());
  const int n = static_cast<int>(slots.size());
  const int bucket = Impl::Bucket(n);
  LLIVE_RETURN_IF_ERROR(m.SetSampling(temperature, seed));
  LLIVE_RETURN_IF_ERROR(m.StageStep(slots, first_tokens, bucket));
  // Graphs of decode_steps_per_graph steps while that many remain, then of one step; after
  // each, its steps' tokens (rows of step_record, a bucket apart) go to the history.
  const int per_graph = m.options.decode_steps_per_graph;
  absl::StatusOr<DecodeGraph*> single = m.GraphFor(bucket, /*logits_wanted=*/false);
  if (!single.ok()) return single.status();
  absl::StatusOr<DecodeGraph*> multiple = *single;
  if (per_graph > 1 && steps >= per_graph) {
    multiple = m.GraphFor(bucket, /*logits_wanted=*/false, per_graph);
    if (!multiple.ok()) return multiple.status();
  }
  if (m.history.size() < static_cast<size_t>(steps) * n) {
    LLIVE_RETURN_IF_ERROR(AllocateInto(m.history, static_cast<size_t>(steps) * n));
  }
  for (int s = 0; s < steps;) {
    const int run = steps - s >= per_graph ? per_graph : 1;
    DecodeGraph* graph = run > 1 ? *multiple : *single;
    LLIVE_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(graph->exec, m.stream), "decode step");
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpy2DAsync(m.history.data() + static_cast<size_t>(s) * n, n * sizeof(int32_t),
                          m.step_record.data(), bucket * sizeof(int32_t), n * sizeof(int32_t), run,
                          cudaMemcpyDeviceToDevice, m.stream),
        "recording decoded tokens");
    s += run;
  }
  std::vector<int32_t> out(static_cast<size_t>(steps) * n);
  LLIVE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(out.data(), m.history.data(), out.size() * sizeof(int32_t),
                      cudaMemcpyDeviceToHost, m.stream),
      "copying decoded tokens");
  LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(m.stream), "decode");
  return out;
}

}  // namespace llive::backends::cuda
