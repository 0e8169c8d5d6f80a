// gpu_bench group "mamba": the mamba-130m shape (d_model 768, 24 layers, d_state 16, expand 2,
// d_conv 4, vocab 50280) with random bf16 weights: prefill, graph-replayed decode, the scan
// kernel alone, and a 1,000,000-token stream fed in chunks.
#include <cuda_profiler_api.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "backends/native/cuda/cublas_gemm.h"
#include "backends/native/cuda/device_buffer.h"
#include "backends/native/cuda/device_tensor.h"
#include "backends/native/cuda/mamba_cuda_kernels.h"
#include "backends/native/cuda/mamba_cuda_model.h"
#include "backends/native/cuda/programmatic_launch.h"
#include "backends/native/cuda/skinny_gemm.h"
#include "backends/native/mamba_random.h"
#include "bench/gpu_bench.h"

namespace llive::gpu_bench {
namespace {

using backends::cuda::DeviceBuffer;
using backends::cuda::DeviceTensor;
using backends::cuda::MambaCudaModel;
using backends::cuda::WeightDtype;
namespace native = backends::native;

constexpr double kPeakTbPerSecond = 4.3;  // H200 device copy bandwidth, measured there
const char* kModel = "mamba-130m shape";

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double UsedMib() {
  size_t free_bytes = 0, total_bytes = 0;
  cudaMemGetInfo(&free_bytes, &total_bytes);
  return static_cast<double>(total_bytes - free_bytes) / (1 << 20);
}

std::vector<int32_t> RandomTokens(std::mt19937_64& random, int64_t n, int64_t vocab) {
  std::vector<int32_t> tokens(n);
  for (int32_t& t : tokens) t = static_cast<int32_t>(random() % vocab);
  return tokens;
}

absl::StatusOr<std::vector<int>> Slots(MambaCudaModel& model, int n) {
  std::vector<int> slots;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<int> slot = model.NewSlot();
    if (!slot.ok()) return slot.status();
    slots.push_back(*slot);
  }
  return slots;
}

absl::Status Prefill(MambaCudaModel& model, std::mt19937_64& random, int batch, bool quick,
                     std::vector<BenchRow>& rows) {
  const int64_t length = 2048;
  absl::StatusOr<std::vector<int>> slots = Slots(model, batch);
  if (!slots.ok()) return slots.status();
  const std::vector<int32_t> tokens = RandomTokens(random, batch * length, 50280);
  BENCH_OK(model.Forward(*slots, tokens.data(), length, false).status());  // warm-up
  const int reps = quick ? 2 : (batch > 1 ? 5 : 10);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) {
    BENCH_OK(model.Forward(*slots, tokens.data(), length, false).status());
  }
  const double seconds = Seconds(start) / reps;
  BenchRow row;
  row.model = kModel;
  row.what = "prefill";
  row.dtype = "bf16";
  row.batch = batch;
  row.length = length;
  row.tokens_per_second = batch * length / seconds;
  row.microseconds_per_step = seconds * 1e6;
  row.device_memory_mib = UsedMib();
  row.note = absl::StrCat(reps, " reps, host tokens in, last logits out");
  rows.push_back(row);
  for (int slot : *slots) model.ReleaseSlot(slot);
  return absl::OkStatus();
}

absl::Status Decode(MambaCudaModel& model, std::mt19937_64& random, int batch, bool quick,
                    std::vector<BenchRow>& rows) {
  absl::StatusOr<std::vector<int>> slots = Slots(model, batch);
  if (!slots.ok()) return slots.status();
  const std::vector<int32_t> first = RandomTokens(random, batch, 50280);
  // Prime each state with a short prompt so the timed steps start from a real state.
  const std::vector<int32_t> prompt = RandomTokens(random, batch * 16, 50280);
  BENCH_OK(model.Forward(*slots, prompt.data(), 16, false).status());
  // Records the graphs: of one step and of up to kMaxDecodeStepsPerGraph (whatever the model's
  // decode_steps_per_graph), so that no capture falls inside the timed call.
  BENCH_OK(
      model.Decode(*slots, first, backends::cuda::kMaxDecodeStepsPerGraph + 1, 0.0f, 1).status());
  const int steps = quick ? 50 : 400;
  const auto start = std::chrono::steady_clock::now();
  BENCH_OK(model.Decode(*slots, first, steps, 0.0f, 1).status());
  const double seconds = Seconds(start) / steps;
  // Bytes a step must move: every weight once, each state read and written once.
  const double bytes =
      static_cast<double>(model.weight_bytes()) + 2.0 * batch * model.state_bytes();
  BenchRow row;
  row.model = kModel;
  row.what = "decode (graph, greedy on device)";
  row.dtype = "bf16";
  row.batch = batch;
  row.length = steps;
  row.tokens_per_second = batch / seconds;
  row.microseconds_per_step = seconds * 1e6;
  row.bandwidth_tb_s = bytes / seconds / 1e12;
  row.device_memory_mib = UsedMib();
  row.note = absl::StrCat(static_cast<int>(100 * row.bandwidth_tb_s / kPeakTbPerSecond),
                          "% of 4.3 TB/s; ", static_cast<int64_t>(bytes / 1e6), " MB/step");
  rows.push_back(row);
  // LLIVE_BENCH_PROFILE_STEP=1: one more step, its graph already recorded, inside the profiler's
  // window (ncu --profile-from-start off), so that a profiler sees one step's kernels.
  if (const char* profile = std::getenv("LLIVE_BENCH_PROFILE_STEP");
      profile != nullptr && std::string(profile) == "1") {
    cudaDeviceSynchronize();
    cudaProfilerStart();
    BENCH_OK(model.Decode(*slots, first, 1, 0.0f, 1).status());
    cudaDeviceSynchronize();
    cudaProfilerStop();
  }
  for (int slot : *slots) model.ReleaseSlot(slot);
  return absl::OkStatus();
}

// The selective scan kernel alone at the model's prefill shapes (bf16 output).
absl::Status Scan(int batch, bool quick, std::vector<BenchRow>& rows, int64_t chunk_length = 0) {
  namespace kernels = backends::cuda::mamba;
  const int64_t length = 2048, di = 1536, ds = 16, dt_rank = 48, xdbc = dt_rank + 2 * ds;
  const int64_t r = batch * length;
  std::mt19937_64 random(5);
  std::normal_distribution<float> normal(0, 1);
  auto fill = [&](int64_t n, float scale, float mean) {
    std::vector<float> v(n);
    for (float& x : v) x = mean + scale * normal(random);
    return v;
  };
  std::vector<float> dbc = fill(r * xdbc, 1, 0), u = fill(r * di, 1, 0),
                     uz = fill(r * 2 * di, 1, 0);
  std::vector<float> dt = fill(di * dt_rank, 0.07f, 0), dt_bias = fill(di, 1, -4),
                     d = fill(di, 0.1f, 1);
  std::vector<float> a(di * ds);
  for (int64_t i = 0; i < di * ds; ++i) a[i] = -static_cast<float>(i % ds + 1);
  std::vector<int32_t> slots(batch);
  for (int b = 0; b < batch; ++b) slots[b] = b;
  auto up = [](const auto& host) {
    return DeviceBuffer<std::decay_t<decltype(host[0])>>::FromHost(host.data(), host.size());
  };
  auto d_dbc = up(dbc);
  auto d_u = DeviceTensor::Upload(u.data(), u.size(), WeightDtype::kBf16);
  auto d_uz = DeviceTensor::Upload(uz.data(), uz.size(), WeightDtype::kBf16);
  auto d_dt = up(dt);
  auto d_dt_bias = up(dt_bias);
  auto d_a = up(a);
  auto d_d = up(d);
  auto d_slots = up(slots);
  auto d_states = DeviceBuffer<float>::Allocate(batch * di * ds);
  auto d_scratch = DeviceBuffer<float>::Allocate(
      std::max<int64_t>(1, kernels::ScanScratchFloats(batch, length, di, ds, chunk_length)));
  auto d_y = DeviceTensor::Allocate(WeightDtype::kBf16, r * di);
  if (!d_dbc.ok() || !d_u.ok() || !d_uz.ok() || !d_dt.ok() || !d_dt_bias.ok() || !d_a.ok() ||
      !d_d.ok() || !d_slots.ok() || !d_states.ok() || !d_scratch.ok() || !d_y.ok()) {
    return absl::ResourceExhaustedError("scan bench buffers");
  }
  cudaMemset(d_states->data(), 0, d_states->bytes());
  const kernels::ScanWeights weights{d_dt->data(), d_dt_bias->data(), d_a->data(), d_d->data()};
  auto launch = [&] {
    return kernels::SelectiveScan(d_dbc->data(), xdbc, dt_rank, d_u->data(), d_uz->data(), 2 * di,
                                  batch, length, di, ds, weights, d_slots->data(), d_states->data(),
                                  di * ds, chunk_length, d_scratch->data(), d_y->data(),
                                  WeightDtype::kBf16, nullptr);
  };
  BENCH_OK(launch());
  cudaDeviceSynchronize();
  const int reps = quick ? 3 : 20;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  cudaEventRecord(start);
  for (int i = 0; i < reps; ++i) BENCH_OK(launch());
  cudaEventRecord(stop);
  cudaEventSynchronize(stop);
  float ms = 0;
  cudaEventElapsedTime(&ms, start, stop);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  const double seconds = ms / 1e3 / reps;
  // u, z and y (bf16), the dt/B/C rows (fp32), and the state in and out.
  const double bytes = r * (di * 6.0 + xdbc * 4.0) + 2.0 * batch * di * ds * 4;
  const int64_t chunk =
      chunk_length > 0 ? chunk_length : kernels::AutoScanChunk(batch, length, di, ds);
  BenchRow row;
  row.model = kModel;
  row.what = "scan kernel (one layer)";
  row.dtype = "bf16 out";
  row.batch = batch;
  row.length = length;
  row.tokens_per_second = r / seconds;
  row.microseconds_per_step = seconds * 1e6;
  row.bandwidth_tb_s = bytes / seconds / 1e12;
  row.note =
      absl::StrCat("chunk ", chunk, " (", (length + chunk - 1) / chunk, " chunks); ",
                   static_cast<int>(100 * row.bandwidth_tb_s / kPeakTbPerSecond), "% of 4.3 TB/s");
  rows.push_back(row);
  return absl::OkStatus();
}

// Where a layer's time goes: each launch of one layer (and the head) timed alone at a
// decode or prefill shape, with random operands (the values do not change the time).
absl::Status LayerOps(int batch, int64_t length, bool quick, std::vector<BenchRow>& rows) {
  namespace kernels = backends::cuda::mamba;
  const int64_t dm = 768, di = 1536, ds = 16, dc = 4, dt_rank = 48, vocab = 50280;
  const int64_t xdbc = dt_rank + 2 * ds, r = batch * length;
  const WeightDtype bf16 = WeightDtype::kBf16;
  std::mt19937_64 random(11);
  std::normal_distribution<float> normal(0, 1);
  auto host = [&](int64_t n, float scale, float mean) {
    std::vector<float> v(n);
    for (float& x : v) x = mean + scale * normal(random);
    return v;
  };
  auto tensor = [&](int64_t n, float scale) {
    std::vector<float> v = host(n, scale, 0);
    return DeviceTensor::Upload(v.data(), v.size(), bf16);
  };
  auto floats = [&](int64_t n, float scale, float mean) {
    std::vector<float> v = host(n, scale, mean);
    return DeviceBuffer<float>::FromHost(v.data(), v.size());
  };
  auto in_proj = tensor(2 * di * dm, 0.03f), x_proj = tensor(xdbc * di, 0.03f),
       out_proj = tensor(dm * di, 0.03f), head = tensor(vocab * dm, 0.03f);
  auto xn = tensor(r * dm, 1), uz = tensor(r * 2 * di, 1), u = tensor(r * di, 1),
       y = tensor(r * di, 1);
  auto x = floats(r * dm, 1, 0), dbc = floats(r * xdbc, 1, 0), norm = floats(dm, 0.1f, 1),
       conv = floats(di * dc, 0.5f, 0), conv_bias = floats(di, 0.1f, 0),
       dt = floats(di * dt_rank, 0.07f, 0), dt_bias = floats(di, 1, -4), a = floats(di * ds, 1, -4),
       d = floats(di, 0.1f, 1), conv_state = floats(batch * di * (dc - 1), 1, 0),
       ssm_state = floats(batch * di * ds, 1, 0), logits = floats(batch * vocab, 1, 0),
       temperature = floats(1, 0, 0);
  auto scratch = DeviceBuffer<float>::Allocate(
      std::max<int64_t>(1, kernels::ScanScratchFloats(batch, length, di, ds, 0)));
  std::vector<int32_t> slot_ids(batch);
  for (int b = 0; b < batch; ++b) slot_ids[b] = b;
  auto slots = DeviceBuffer<int32_t>::FromHost(slot_ids.data(), slot_ids.size());
  auto sampled = DeviceBuffer<int32_t>::Allocate(batch);
  // The multi-block sampler, as the model runs it (zeroed once: mamba::SampleScratch).
  auto sample_scratch = DeviceBuffer<uint8_t>::Allocate(
      std::max<int64_t>(1, kernels::SampleScratchBytes(batch, vocab)));
  const uint64_t params_host[2] = {1, 0};
  auto params = DeviceBuffer<uint64_t>::FromHost(params_host, 2);
  for (bool ok : {in_proj.ok(),     x_proj.ok(),  out_proj.ok(),   head.ok(),      xn.ok(),
                  uz.ok(),          u.ok(),       y.ok(),          x.ok(),         dbc.ok(),
                  norm.ok(),        conv.ok(),    conv_bias.ok(),  dt.ok(),        dt_bias.ok(),
                  a.ok(),           d.ok(),       conv_state.ok(), ssm_state.ok(), logits.ok(),
                  temperature.ok(), scratch.ok(), slots.ok(),      sampled.ok(),   params.ok()}) {
    if (!ok) return absl::ResourceExhaustedError("layer op buffers");
  }
  if (!sample_scratch.ok()) return sample_scratch.status();
  cudaMemset(sample_scratch->data(), 0, sample_scratch->bytes());
  const kernels::SampleScratch sample{sample_scratch->data(),
                                      static_cast<int64_t>(sample_scratch->bytes()), batch};
  absl::StatusOr<std::unique_ptr<backends::cuda::GemmContext>> gemm =
      backends::cuda::GemmContext::Create(nullptr);
  if (!gemm.ok()) return gemm.status();
  const kernels::ScanWeights scan{dt->data(), dt_bias->data(), a->data(), d->data()};
  std::vector<std::pair<const char*, std::function<absl::Status()>>> ops = {
      {"rmsnorm",
       [&] {
         return kernels::RmsNorm(x->data(), r, 1, 0, dm, norm->data(), 1e-5f, xn->data(), bf16,
                                 nullptr);
       }},
      {"in_proj",
       [&] {
         return (*gemm)->Linear(xn->data(), r, dm, dm, *in_proj, 2 * di, uz->data(), bf16, 2 * di);
       }},
      {"conv1d",
       [&] {
         return kernels::CausalConv1d(uz->data(), 2 * di, batch, length, di, dc, conv->data(),
                                      conv_bias->data(), slots->data(), conv_state->data(),
                                      di * (dc - 1), u->data(), bf16, nullptr);
       }},
      {"x_proj",
       [&] {
         return (*gemm)->Linear(u->data(), r, di, di, *x_proj, xdbc, dbc->data(),
                                WeightDtype::kFp32, xdbc);
       }},
      {"scan",
       [&] {
         return kernels::SelectiveScan(dbc->data(), xdbc, dt_rank, u->data(), uz->data(), 2 * di,
                                       batch, length, di, ds, scan, slots->data(),
                                       ssm_state->data(), di * ds, 0, scratch->data(), y->data(),
                                       bf16, nullptr);
       }},
      {"out_proj+residual",
       [&] {
         return (*gemm)->Linear(y->data(), r, di, di, *out_proj, dm, x->data(), WeightDtype::kFp32,
                                dm, 1.0f, 1.0f);
       }},
      {"head (last rows)",
       [&] {
         if (absl::Status s = kernels::RmsNorm(x->data(), batch, length, length - 1, dm,
                                               norm->data(), 1e-5f, xn->data(), bf16, nullptr);
             !s.ok()) {
           return s;
         }
         return (*gemm)->Linear(xn->data(), batch, dm, dm, *head, vocab, logits->data(),
                                WeightDtype::kFp32, vocab);
       }},
      {"sample",
       [&] {
         return kernels::SampleTokens(logits->data(), batch, vocab, temperature->data(),
                                      params->data(), sampled->data(), nullptr, sample);
       }},
  };
  if (length > 1) {
    // The one-channel-a-thread kernel that odd channel counts take (d_inner 1535 here), against
    // the two-channel one above.
    ops.push_back({"conv1d, a channel a thread (d_inner 1535)", [&] {
                     return kernels::CausalConv1d(uz->data(), 2 * di, batch, length, di - 1, dc,
                                                  conv->data(), conv_bias->data(), slots->data(),
                                                  conv_state->data(), di * (dc - 1), u->data(),
                                                  bf16, nullptr);
                   }});
  }
  if (length == 1 && kernels::DecodeInProjConvApplies(x->data(), r, dm, in_proj->data())) {
    ops.push_back({"rmsnorm+in_proj+conv1d (decode, fused)", [&] {
                     return kernels::DecodeInProjConv(
                         x->data(), r, dm, norm->data(), 1e-5f, in_proj->data(), bf16, di, dc,
                         conv->data(), conv_bias->data(), slots->data(), conv_state->data(),
                         di * (dc - 1), uz->data(), 2 * di, u->data(), nullptr);
                   }});
  }
  const int reps = quick ? 3 : (r > 4096 ? 10 : 50);
  // Reset the states first: the timed loops feed random data through them.
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  double total = 0;
  for (const auto& [name, op] : ops) {
    BENCH_OK(op());
    cudaEventRecord(start);
    for (int i = 0; i < reps; ++i) BENCH_OK(op());
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    const double us = ms * 1000.0 / reps;
    const bool per_layer = std::string(name) != "head (last rows)" && std::string(name) != "sample";
    // The fused decode op replaces three of the others, the one-channel convolution the
    // default one: timed, not summed.
    if (std::string(name).find("fused") == std::string::npos &&
        std::string(name).find("a channel a thread") == std::string::npos) {
      total += per_layer ? 24 * us : us;
    }
    BenchRow row;
    row.model = kModel;
    row.what = absl::StrCat("op ", name, per_layer ? " (one layer)" : "");
    row.dtype = "bf16";
    row.batch = batch;
    row.length = length;
    row.microseconds_per_step = us;
    rows.push_back(row);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  BenchRow sum;
  sum.model = kModel;
  sum.what = "ops summed (24 layers + head)";
  sum.dtype = "bf16";
  sum.batch = batch;
  sum.length = length;
  sum.microseconds_per_step = total;
  sum.tokens_per_second = r / (total * 1e-6);
  sum.note = "separate launches, no graph";
  rows.push_back(sum);
  return absl::OkStatus();
}

// One sequence fed 1,000,000 tokens in chunks of 2048: memory and throughput as it grows.
absl::Status Stream(MambaCudaModel& model, std::mt19937_64& random, bool quick,
                    std::vector<BenchRow>& rows) {
  const int64_t chunk = 2048;
  const int64_t total = quick ? 100000 : 1000000;
  absl::StatusOr<std::vector<int>> slot = Slots(model, 1);
  if (!slot.ok()) return slot.status();
  const std::vector<int32_t> tokens = RandomTokens(random, chunk, 50280);
  int64_t fed = 0, segment_start = 0;
  auto segment_clock = std::chrono::steady_clock::now();
  for (int64_t mark : {int64_t{10000}, int64_t{100000}, int64_t{1000000}}) {
    if (mark > total) break;
    while (fed < mark) {
      const int64_t n = std::min(chunk, mark - fed);
      BENCH_OK(model.Forward(*slot, tokens.data(), n, false).status());
      fed += n;
    }
    const double seconds = Seconds(segment_clock);
    BenchRow row;
    row.model = kModel;
    row.what = absl::StrCat("stream at ", mark / 1000, "k tokens");
    row.dtype = "bf16";
    row.batch = 1;
    row.length = fed;
    row.tokens_per_second = (fed - segment_start) / seconds;
    row.device_memory_mib = UsedMib();
    row.note = absl::StrCat("chunks of ", chunk, "; rate over tokens ", segment_start, "..", fed);
    rows.push_back(row);
    segment_start = fed;
    segment_clock = std::chrono::steady_clock::now();
  }
  model.ReleaseSlot((*slot)[0]);
  return absl::OkStatus();
}

// The CPU model every group starts from: random weights (seed 130) of the mamba-130m shape.
absl::StatusOr<std::unique_ptr<native::MambaModel>> BenchCpuModel() {
  native::MambaConfig config;
  config.d_model = 768;
  config.n_layer = 24;
  config.d_state = 16;
  config.d_inner = 1536;
  config.d_conv = 4;
  config.dt_rank = 48;
  config.vocab_size = 50280;
  native::RandomMambaOptions random_options;
  random_options.seed = 130;
  return native::MambaModel::FromWeights(config,
                                         native::RandomMambaWeights(config, random_options));
}

absl::StatusOr<std::vector<BenchRow>> RunMambaBench(const BenchOptions& options) {
  namespace kernels = backends::cuda::mamba;
  absl::StatusOr<std::unique_ptr<native::MambaModel>> cpu_model = BenchCpuModel();
  if (!cpu_model.ok()) return cpu_model.status();
  backends::cuda::MambaCudaOptions cuda_options;
  cuda_options.weight_dtype = WeightDtype::kBf16;
  cuda_options.max_prefill_rows = 16 * 2048;
  cuda_options.max_decode_batch = 256;
  cuda_options.initial_slots = 300;
  // Decode graphs are captured once per batch bucket with the settings of that moment (scan
  // threads, programmatic launch), so each variant below gets a model of its own.
  auto new_model = [&]() { return MambaCudaModel::Create(**cpu_model, cuda_options); };
  absl::StatusOr<std::unique_ptr<MambaCudaModel>> model = new_model();
  if (!model.ok()) return model.status();
  std::mt19937_64 random(7);
  std::vector<BenchRow> rows;
  for (int batch : {1, 16}) BENCH_OK(Prefill(**model, random, batch, options.quick, rows));
  for (int batch : {1, 2, 4, 8, 16, 64, 256}) {
    BENCH_OK(Decode(**model, random, batch, options.quick, rows));
  }
  for (int batch : {1, 16}) BENCH_OK(Scan(batch, options.quick, rows));
  // dt by FMAs instead of the tensor cores, to keep that choice measured.
  kernels::SetScanDtOnTensorCores(false);
  for (int batch : {1, 16}) {
    const size_t first = rows.size();
    BENCH_OK(Scan(batch, options.quick, rows));
    rows[first].note = absl::StrCat("dt by FMAs (forced); ", rows[first].note);
  }
  kernels::SetScanDtOnTensorCores(true);
  // Time chunks the shape rule does not choose at 16 x 2048 (two passes, but twice or four
  // times the threads), to keep that choice measured.
  for (int64_t chunk : {int64_t{1024}, int64_t{512}}) {
    const size_t first = rows.size();
    BENCH_OK(Scan(16, options.quick, rows, chunk));
    rows[first].note = absl::StrCat("forced; ", rows[first].note);
  }
  for (auto [batch, length] : {std::pair{1, int64_t{1}}, std::pair{64, int64_t{1}},
                               std::pair{1, int64_t{2048}}, std::pair{16, int64_t{2048}}}) {
    BENCH_OK(LayerOps(batch, length, options.quick, rows));
  }
  BENCH_OK(Stream(**model, random, options.quick, rows));
  model->reset();
  // The prefill scans with the thread count the shape rule did not choose (4 threads a channel
  // at 16 x 2048, 2 at 1 x 2048), to keep the choice measured.
  model = new_model();
  if (!model.ok()) return model.status();
  for (auto [batch, lanes] : {std::pair{16, 4}, std::pair{1, 2}}) {
    BENCH_OK(kernels::SetScanLanes(lanes));
    const size_t first = rows.size();
    BENCH_OK(Prefill(**model, random, batch, options.quick, rows));
    BENCH_OK(Scan(batch, options.quick, rows));
    for (size_t i = first; i < rows.size(); ++i) {
      rows[i].note = absl::StrCat("scan ", lanes, " threads a channel (forced); ", rows[i].note);
    }
  }
  BENCH_OK(kernels::SetScanLanes(0));
  model->reset();
  // Decoding at `batches` on a fresh model built with the settings of the moment (a decode
  // graph keeps the settings it was captured with), with `change` made to the options for that
  // model only, each row's note prefixed by `what`.
  using Options = backends::cuda::MambaCudaOptions;
  auto decode_variant = [&](std::vector<int> batches, const char* what,
                            const std::function<void(Options&)>& change = {}) -> absl::Status {
    const size_t first = rows.size();
    const Options saved = cuda_options;
    if (change) change(cuda_options);
    model = new_model();
    cuda_options = saved;
    if (!model.ok()) return model.status();
    for (int batch : batches) BENCH_OK(Decode(**model, random, batch, options.quick, rows));
    model->reset();
    for (size_t i = first; i < rows.size(); ++i) rows[i].note = absl::StrCat(what, rows[i].note);
    return absl::OkStatus();
  };
  // The defaults again on a fresh model, as the control for the variants below: models built
  // later in a process measured a few per cent slower than the first (2026-12-02, 67,200
  // against 72,144 tok/s at batch 64 with the same settings), so each variant is compared with
  // this, not with the first rows.
  BENCH_OK(decode_variant({1, 8, 64}, "defaults, a fresh model (control); "));
  // Programmatic dependent launch off (the default has it on for one sequence and for the
  // split products of 2-64 sequences), to keep the choice measured.
  using backends::cuda::MambaPdl;
  backends::cuda::SetMambaProgrammaticLaunch(MambaPdl::kOff);
  BENCH_OK(decode_variant({1, 8, 64}, "PDL off; "));
  backends::cuda::SetMambaProgrammaticLaunch(MambaPdl::kAuto);
  // The other side of the skinny kernels' row limit (kSkinnySuitedRows): batch 1 through
  // cuBLAS and the separate RMSNorm and convolution launches, batches 2 to 8 through the skinny
  // kernels (split products off), to keep that choice measured.
  auto no_split = [](Options& o) { o.split_decode_min_rows = 0; };
  backends::cuda::SetSkinnyRowLimit(0);
  BENCH_OK(decode_variant({1}, "cuBLAS, no skinny kernels; "));
  backends::cuda::SetSkinnyRowLimit(backends::cuda::kSkinnyMaxRows);
  BENCH_OK(decode_variant({2, 4, 8}, "skinny kernels; ", no_split));
  backends::cuda::SetSkinnyRowLimit(backends::cuda::kSkinnySuitedRows);
  // The products of 2-64 rows through cuBLAS and separate launches instead of the split kernels
  // (split_decode_min_rows 0), to keep that choice measured.
  BENCH_OK(decode_variant({2, 8, 64}, "cuBLAS products, no split kernels; ", no_split));
  // Batch 64 as one chain of launches, and as two branches of 32, instead of four of 16 side
  // by side.
  BENCH_OK(decode_variant({64}, "one branch; ", [](Options& o) { o.split_decode_branches = 1; }));
  BENCH_OK(decode_variant({64}, "two branches of 32; ", [](Options& o) {
    o.split_decode_branches = 2;
    o.split_decode_branch_rows = 32;
  }));
  // The LM head with the draw in its epilogue (HeadSample) instead of cuBLAS's head and
  // SampleTokens, to keep that choice measured.
  BENCH_OK(decode_variant({8, 64}, "head + sample in one launch; ",
                          [](Options& o) { o.fused_head_sample = true; }));
  // in_proj in slices and the convolution in a launch of its own, instead of DecodeProductConv.
  BENCH_OK(decode_variant({8, 64}, "in_proj sliced, conv launched alone; ",
                          [](Options& o) { o.split_product_conv_tiles = 0; }));
  // A residual-norm launch between layers instead of out_proj finishing the residual.
  BENCH_OK(decode_variant({8, 32, 64}, "residual norm launched between layers; ",
                          [](Options& o) { o.fused_residual_norm_rows = 0; }));
  // The decode step ended by AdvanceDecode after the sampler instead of by the sampler.
  BENCH_OK(decode_variant({1, 64}, "step ended by a launch of its own; ",
                          [](Options& o) { o.sampler_ends_step = false; }));
  // A graph launch a decode step instead of a graph of 8 steps.
  BENCH_OK(decode_variant({1, 8, 64}, "a graph a step; ",
                          [](Options& o) { o.decode_steps_per_graph = 1; }));
  // The scan step in blocks of 64 channels x 4 sequences instead of 32 x 4.
  BENCH_OK(backends::cuda::mamba::SetScanStepBlock({64, 4}));
  BENCH_OK(decode_variant({1, 64}, "scan step blocks of 64 x 4; "));
  BENCH_OK(backends::cuda::mamba::SetScanStepBlock({0, 0}));
  cpu_model->reset();
  return rows;
}

// Decoding through the split products against cuBLAS's at batches 8-64, in up to 1, 2 or 4
// branches of at least 16 rows at 32 and 64, the products' tilings and programmatic launch varied
// at batch 64; each setting on a fresh model.
absl::StatusOr<std::vector<BenchRow>> RunSplit(const BenchOptions& options) {
  absl::StatusOr<std::unique_ptr<native::MambaModel>> cpu_model = BenchCpuModel();
  if (!cpu_model.ok()) return cpu_model.status();
  std::mt19937_64 random(7);
  std::vector<BenchRow> rows;
  auto variant = [&](const backends::cuda::MambaCudaOptions& cuda_options, std::vector<int> batches,
                     std::string what) -> absl::Status {
    const size_t first = rows.size();
    absl::StatusOr<std::unique_ptr<MambaCudaModel>> model =
        MambaCudaModel::Create(**cpu_model, cuda_options);
    if (!model.ok()) return model.status();
    for (int batch : batches) BENCH_OK(Decode(**model, random, batch, options.quick, rows));
    for (size_t i = first; i < rows.size(); ++i) rows[i].note = absl::StrCat(what, rows[i].note);
    return absl::OkStatus();
  };
  backends::cuda::MambaCudaOptions base;
  base.weight_dtype = WeightDtype::kBf16;
  base.max_prefill_rows = 2048;
  base.max_decode_batch = 64;
  base.initial_slots = 80;
  BENCH_OK(variant(base, {2, 8, 16, 32, 64}, "defaults; "));
  // Branches side by side (MambaCudaOptions::split_decode_branches): none, then up to 2 or 4
  // of at least 16 rows (batch 32 splits into two of 16 in both).
  for (auto [branches, branch_rows] : {std::pair{1, 32}, std::pair{2, 16}, std::pair{4, 16}}) {
    backends::cuda::MambaCudaOptions branched = base;
    branched.split_decode_branches = branches;
    branched.split_decode_branch_rows = branch_rows;
    BENCH_OK(variant(branched, {32, 64},
                     absl::StrCat("up to ", branches, " branches of >= ", branch_rows, " rows; ")));
  }
  backends::cuda::MambaCudaOptions off = base;
  off.split_decode_min_rows = 0;
  BENCH_OK(variant(off, {2, 8, 16, 32, 64}, "cuBLAS products; "));
  for (auto [in_blocks, x_blocks, out_blocks] :
       {std::tuple{96, 8, 96}, std::tuple{192, 8, 96}, std::tuple{128, 4, 96},
        std::tuple{128, 16, 96}, std::tuple{128, 8, 48}, std::tuple{128, 8, 144}}) {
    backends::cuda::MambaCudaOptions tiled = base;
    tiled.split_in_proj_blocks = in_blocks;
    tiled.split_x_proj_blocks = x_blocks;
    tiled.split_out_proj_blocks = out_blocks;
    BENCH_OK(
        variant(tiled, {64},
                absl::StrCat("blocks in/x/out ", in_blocks, "/", x_blocks, "/", out_blocks, "; ")));
  }
  // Fewer scan blocks, each looping over more sequences.
  for (int groups : {8, 4}) {
    BENCH_OK(backends::cuda::mamba::SetScanStepGroups(groups));
    BENCH_OK(variant(base, {64}, absl::StrCat("scan step in ", groups, " groups; ")));
  }
  BENCH_OK(backends::cuda::mamba::SetScanStepGroups(32));
  using backends::cuda::MambaPdl;
  backends::cuda::SetMambaProgrammaticLaunch(MambaPdl::kOff);
  BENCH_OK(variant(base, {64}, "split products, PDL off; "));
  backends::cuda::SetMambaProgrammaticLaunch(MambaPdl::kAuto);
  BENCH_OK(variant(base, {64}, "defaults again (control); "));
  return rows;
}

// The bench model (random bf16 weights of the mamba-130m shape) on its own, for the small groups
// below: prefills of up to `prefill_sequences` x 2048 tokens, decode batches up to `decode`.
absl::StatusOr<std::unique_ptr<MambaCudaModel>> BenchModel(
    int prefill_sequences, int decode, backends::cuda::MambaCudaOptions cuda_options = {}) {
  absl::StatusOr<std::unique_ptr<native::MambaModel>> cpu_model = BenchCpuModel();
  if (!cpu_model.ok()) return cpu_model.status();
  cuda_options.weight_dtype = WeightDtype::kBf16;
  cuda_options.max_prefill_rows = prefill_sequences * 2048;
  cuda_options.max_decode_batch = decode;
  return MambaCudaModel::Create(**cpu_model, cuda_options);
}

// Small groups for a profiler (ncu) to attach to one shape: the 16 x 2048 scan alone, and
// each launch of a batch-64 decode layer or of a 16 x 2048 prefill layer.
absl::StatusOr<std::vector<BenchRow>> RunScan16(const BenchOptions& options) {
  std::vector<BenchRow> rows;
  BENCH_OK(Scan(16, options.quick, rows));
  backends::cuda::mamba::SetScanDtOnTensorCores(false);
  BENCH_OK(Scan(16, options.quick, rows));
  rows.back().note = absl::StrCat("dt by FMAs (forced); ", rows.back().note);
  backends::cuda::mamba::SetScanDtOnTensorCores(true);
  return rows;
}
absl::StatusOr<std::vector<BenchRow>> RunOps64(const BenchOptions& options) {
  std::vector<BenchRow> rows;
  BENCH_OK(LayerOps(64, 1, options.quick, rows));
  return rows;
}
absl::StatusOr<std::vector<BenchRow>> RunOps16(const BenchOptions& options) {
  std::vector<BenchRow> rows;
  BENCH_OK(LayerOps(16, 2048, options.quick, rows));
  return rows;
}

// Graph-replayed decoding at batch 64 alone, for a timeline profiler (nsys) to see the
// graph's nodes, and to compare settings each in a fresh process (-stepwise: a graph a step).
absl::StatusOr<std::vector<BenchRow>> Decode64With(const BenchOptions& options,
                                                   backends::cuda::MambaCudaOptions cuda_options,
                                                   const char* note) {
  absl::StatusOr<std::unique_ptr<MambaCudaModel>> model = BenchModel(1, 64, cuda_options);
  if (!model.ok()) return model.status();
  std::mt19937_64 random(7);
  std::vector<BenchRow> rows;
  BENCH_OK(Decode(**model, random, 64, options.quick, rows));
  rows.back().note = absl::StrCat(note, rows.back().note);
  return rows;
}
absl::StatusOr<std::vector<BenchRow>> RunDecode64(const BenchOptions& options) {
  return Decode64With(options, {}, "");
}
absl::StatusOr<std::vector<BenchRow>> RunDecode64SeparateAdvance(const BenchOptions& options) {
  backends::cuda::MambaCudaOptions cuda_options;
  cuda_options.sampler_ends_step = false;
  return Decode64With(options, cuda_options, "step ended by a launch of its own; ");
}
// Batch 64 in `branches` branches, with out_proj finishing the residual in branches of at most
// `fused_rows` rows.
absl::StatusOr<std::vector<BenchRow>> RunDecode64Norm(const BenchOptions& options, int branches,
                                                      int fused_rows) {
  backends::cuda::MambaCudaOptions cuda_options;
  cuda_options.split_decode_branches = branches;
  cuda_options.split_decode_branch_rows = 64 / branches;
  cuda_options.fused_residual_norm_rows = fused_rows;
  return Decode64With(
      options, cuda_options,
      absl::StrCat(branches, " branches of ", 64 / branches, ", ",
                   64 / branches <= fused_rows ? "out_proj finishes the residual; "
                                               : "residual norm launched between layers; ")
          .c_str());
}
// MambaCudaOptions with fields set from LLIVE_BENCH_MAMBA_OPTIONS, comma-separated name=value
// pairs of the integer fields below (e.g. "split_out_proj_blocks=48,decode_steps_per_graph=16"),
// to try settings without a build; an unknown name is an error. `spec`: the variable's text.
absl::StatusOr<backends::cuda::MambaCudaOptions> OptionsFromEnvironment(std::string& spec) {
  backends::cuda::MambaCudaOptions cuda_options;
  const char* text = std::getenv("LLIVE_BENCH_MAMBA_OPTIONS");
  spec = text != nullptr ? text : "";
  const std::pair<const char*, int*> fields[] = {
      {"split_x_proj_blocks", &cuda_options.split_x_proj_blocks},
      {"split_out_proj_blocks", &cuda_options.split_out_proj_blocks},
      {"split_in_proj_blocks", &cuda_options.split_in_proj_blocks},
      {"split_product_conv_tiles", &cuda_options.split_product_conv_tiles},
      {"fused_residual_norm_rows", &cuda_options.fused_residual_norm_rows},
      {"fold_x_proj_groups", &cuda_options.fold_x_proj_groups},
      {"split_decode_branches", &cuda_options.split_decode_branches},
      {"split_decode_branch_rows", &cuda_options.split_decode_branch_rows},
      {"decode_steps_per_graph", &cuda_options.decode_steps_per_graph}};
  for (absl::string_view pair : absl::StrSplit(spec, ',', absl::SkipWhitespace())) {
    const std::vector<std::string> parts = absl::StrSplit(pair, '=');
    int64_t value = 0;
    bool known = false;
    if (parts.size() == 2 && absl::SimpleAtoi(parts[1], &value)) {
      const absl::string_view name = absl::StripAsciiWhitespace(parts[0]);
      for (const auto& [field_name, field] : fields) {
        if (name == field_name && value >= INT32_MIN && value <= INT32_MAX) {
          *field = static_cast<int>(value);
          known = true;
        }
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("LLIVE_BENCH_MAMBA_OPTIONS: not a known name=integer: ", pair));
    }
  }
  return cuda_options;
}
// Batch 64, and the batches of mamba-decode-batches, with LLIVE_BENCH_MAMBA_OPTIONS's settings.
absl::StatusOr<std::vector<BenchRow>> RunDecode64Options(const BenchOptions& options) {
  std::string spec;
  absl::StatusOr<backends::cuda::MambaCudaOptions> cuda_options = OptionsFromEnvironment(spec);
  if (!cuda_options.ok()) return cuda_options.status();
  return Decode64With(options, *cuda_options, absl::StrCat(spec, "; ").c_str());
}
absl::StatusOr<std::vector<BenchRow>> RunDecodeBatchesOptions(const BenchOptions& options);
absl::StatusOr<std::vector<BenchRow>> RunDecode64Branches(const BenchOptions& options,
                                                          int branches) {
  backends::cuda::MambaCudaOptions cuda_options;
  cuda_options.split_decode_branches = branches;
  cuda_options.split_decode_branch_rows = 64 / branches;
  return Decode64With(options, cuda_options,
                      absl::StrCat(branches, " branches of ", 64 / branches, "; ").c_str());
}
// A row's note for the scan step's blocks `block` ({0, 0}: chosen by launch).
std::string ScanBlockNote(backends::cuda::mamba::ScanStepBlock block) {
  if (block.channels == 0) return "scan step blocks by launch; ";
  return absl::StrCat("scan step blocks of ", block.channels, " x ", block.sequences, ", ",
                      block.blocks_per_sm, " a multiprocessor; ");
}

// The scan step in blocks of `block` instead of the default.
absl::StatusOr<std::vector<BenchRow>> RunDecode64ScanBlock(
    const BenchOptions& options, backends::cuda::mamba::ScanStepBlock block) {
  BENCH_OK(backends::cuda::mamba::SetScanStepBlock(block));
  return Decode64With(options, {}, ScanBlockNote(block).c_str());
}
// Decoding at batches 1, 8, 16, 64 and 256 on one model, with the scan step's blocks of `block`
// and `cuda_options`, `note` before each row's.
absl::StatusOr<std::vector<BenchRow>> RunDecodeBatchesScanBlock(
    const BenchOptions& options, backends::cuda::mamba::ScanStepBlock block,
    backends::cuda::MambaCudaOptions cuda_options = {}, const std::string& note = "") {
  BENCH_OK(backends::cuda::mamba::SetScanStepBlock(block));
  absl::StatusOr<std::unique_ptr<MambaCudaModel>> model = BenchModel(1, 256, cuda_options);
  if (!model.ok()) return model.status();
  std::mt19937_64 random(7);
  std::vector<BenchRow> rows;
  for (int batch : {1, 8, 16, 32, 64, 256}) {
    BENCH_OK(Decode(**model, random, batch, options.quick, rows));
    rows.back().note = absl::StrCat(note, ScanBlockNote(block), rows.back().note);
  }
  return rows;
}

absl::StatusOr<std::vector<BenchRow>> RunDecodeBatchesOptions(const BenchOptions& options) {
  std::string spec;
  absl::StatusOr<backends::cuda::MambaCudaOptions> cuda_options = OptionsFromEnvironment(spec);
  if (!cuda_options.ok()) return cuda_options.status();
  return RunDecodeBatchesScanBlock(options, {0, 0}, *cuda_options, absl::StrCat(spec, "; "));
}

absl::StatusOr<std::vector<BenchRow>> RunDecode64Stepwise(const BenchOptions& options) {
  backends::cuda::MambaCudaOptions cuda_options;
  cuda_options.decode_steps_per_graph = 1;
  return Decode64With(options, cuda_options, "a graph a step; ");
}

// Prefill at 1 x 2048 and 16 x 2048 alone.
absl::StatusOr<std::vector<BenchRow>> RunPrefill(const BenchOptions& options) {
  absl::StatusOr<std::unique_ptr<MambaCudaModel>> model = BenchModel(16, 1);
  if (!model.ok()) return model.status();
  std::mt19937_64 random(7);
  std::vector<BenchRow> rows;
  for (int batch : {1, 16}) BENCH_OK(Prefill(**model, random, batch, options.quick, rows));
  return rows;
}

const bool kRegistered = RegisterBenchGroup("mamba", &RunMambaBench);
const bool kRegisteredDecode64 = RegisterBenchGroup("mamba-decode64", &RunDecode64);
const bool kRegisteredDecode64SeparateAdvance =
    RegisterBenchGroup("mamba-decode64-advance", &RunDecode64SeparateAdvance);
const bool kRegisteredDecode64Two = RegisterBenchGroup(
    "mamba-decode64-b2", [](const BenchOptions& o) { return RunDecode64Branches(o, 2); });
const bool kRegisteredDecode64Eight = RegisterBenchGroup(
    "mamba-decode64-b8", [](const BenchOptions& o) { return RunDecode64Branches(o, 8); });
// The residual norm launched between layers (normlaunch) at batch 64 and at the batches of
// mamba-decode-batches, and out_proj finishing the residual in two branches of 32 rows too
// (the default: only in branches of at most 16: mamba-decode64-b2 launches the norm).
const bool kRegisteredDecode64NormLaunch = RegisterBenchGroup(
    "mamba-decode64-normlaunch", [](const BenchOptions& o) { return RunDecode64Norm(o, 4, 0); });
const bool kRegisteredDecode64TwoFusedNorm = RegisterBenchGroup(
    "mamba-decode64-b2-fusednorm", [](const BenchOptions& o) { return RunDecode64Norm(o, 2, 32); });
const bool kRegisteredDecodeBatchesNormLaunch =
    RegisterBenchGroup("mamba-decode-batches-normlaunch", [](const BenchOptions& o) {
      backends::cuda::MambaCudaOptions cuda_options;
      cuda_options.fused_residual_norm_rows = 0;
      return RunDecodeBatchesScanBlock(o, {0, 0}, cuda_options,
                                       "residual norm launched between layers; ");
    });
// The LM head with the draw in its epilogue (HeadSample) at batch 64 and at the batches of
// mamba-decode-batches.
const bool kRegisteredDecode64HeadSample =
    RegisterBenchGroup("mamba-decode64-headsample", [](const BenchOptions& o) {
      backends::cuda::MambaCudaOptions cuda_options;
      cuda_options.fused_head_sample = true;
      return Decode64With(o, cuda_options, "head + sample in one launch; ");
    });
const bool kRegisteredDecodeBatchesHeadSample =
    RegisterBenchGroup("mamba-decode-batches-headsample", [](const BenchOptions& o) {
      backends::cuda::MambaCudaOptions cuda_options;
      cuda_options.fused_head_sample = true;
      return RunDecodeBatchesScanBlock(o, {0, 0}, cuda_options, "head + sample in one launch; ");
    });
const bool kRegisteredDecode64Options =
    RegisterBenchGroup("mamba-decode64-options", &RunDecode64Options);
const bool kRegisteredDecodeBatchesOptions =
    RegisterBenchGroup("mamba-decode-batches-options", &RunDecodeBatchesOptions);
const bool kRegisteredDecode64Stepwise =
    RegisterBenchGroup("mamba-decode64-stepwise", &RunDecode64Stepwise);
const bool kRegisteredDecode64Scan64x4 =
    RegisterBenchGroup("mamba-decode64-scan64x4", [](const BenchOptions& o) {
      return RunDecode64ScanBlock(o, {64, 4});
    });
const bool kRegisteredDecode64Scan32x4 =
    RegisterBenchGroup("mamba-decode64-scan32x4", [](const BenchOptions& o) {
      return RunDecode64ScanBlock(o, {32, 4});
    });
const bool kRegisteredDecodeBatches =
    RegisterBenchGroup("mamba-decode-batches", [](const BenchOptions& o) {
      return RunDecodeBatchesScanBlock(o, {0, 0});
    });
const bool kRegisteredDecodeBatches32x4 =
    RegisterBenchGroup("mamba-decode-batches-scan32x4", [](const BenchOptions& o) {
      return RunDecodeBatchesScanBlock(o, {32, 4});
    });
const bool kRegisteredDecodeBatches32x4x5 =
    RegisterBenchGroup("mamba-decode-batches-scan32x4x5", [](const BenchOptions& o) {
      return RunDecodeBatchesScanBlock(o, {32, 4, 5});
    });
const bool kRegisteredDecodeBatches64x4 =
    RegisterBenchGroup("mamba-decode-batches-scan64x4", [](const BenchOptions& o) {
      return RunDecodeBatchesScanBlock(o, {64, 4});
    });
const bool kRegisteredPrefill = RegisterBenchGroup("mamba-prefill", &RunPrefill);
const bool kRegisteredScan16 = RegisterBenchGroup("mamba-scan16", &RunScan16);
const bool kRegisteredOps64 = RegisterBenchGroup("mamba-ops64", &RunOps64);
const bool kRegisteredOps16 = RegisterBenchGroup("mamba-ops16", &RunOps16);
const bool kRegisteredSplit = RegisterBenchGroup("mamba-split", &RunSplit);

}  // namespace
}  // namespace llive::gpu_bench
