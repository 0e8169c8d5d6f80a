// Mamba-1 on the CPU at the mamba-130m shape: llive's prefill and decoding speed next to
// llama.cpp's (node-llama-cpp, tests/peers) on the same F32 GGUF file, at the same thread
// count, plus decoding's bytes moved per second as a share of measured memory bandwidth.
//
//   cpu_decode [--threads N] [--prompt-tokens P] [--decode-tokens D] [--batch B]
//              [--no-llama-cpp] [--keep FILE.gguf]
// Random weights of the mamba-130m shape (hidden 768, 24 layers, state 16, expand 2, conv 4,
// vocabulary 50280, tied head) are generated, written as a GGUF with the GPT-NeoX vocabulary
// and opened from that file by llive; llama.cpp reads the same file.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "backends/native/mamba_backend.h"
#include "backends/native/mamba_gguf_export.h"
#include "backends/native/mamba_random.h"
#include "nlohmann/json.hpp"

namespace {

using llive::backends::ModelState;
using namespace llive::backends::native;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "cpu_decode: %s\n", message.c_str());
  return 2;
}

// Read bandwidth in bytes/s: summing a 1 GiB array (far larger than any cache) with `threads`
// threads, best of three passes.
double MeasureReadBandwidth(int threads) {
  const size_t count = (size_t{1} << 30) / sizeof(float);
  std::vector<float> data(count, 1.0f);
  double best = 0;
  for (int pass = 0; pass < 3; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    double total = 0;
#pragma omp parallel for reduction(+ : total) num_threads(threads) schedule(static)
    for (size_t i = 0; i < count; i += 8) {
      total += data[i] + data[i + 1] + data[i + 2] + data[i + 3] + data[i + 4] + data[i + 5] +
               data[i + 6] + data[i + 7];
    }
    const double seconds = Seconds(start);
    if (total < 0) std::printf("impossible\n");  // keeps the loop
    best = std::max(best, count * sizeof(float) / seconds);
  }
  return best;
}

std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "", ':')) {
    const std::filesystem::path candidate = std::filesystem::path(std::string(dir)) / program;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, prompt_tokens = 256, decode_tokens = 64, batch = 8;
  bool llama_cpp = true;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (arg == "--threads") {
      threads = std::atoi(next().c_str());
    } else if (arg == "--prompt-tokens") {
      prompt_tokens = std::atoi(next().c_str());
    } else if (arg == "--decode-tokens") {
      decode_tokens = std::atoi(next().c_str());
    } else if (arg == "--batch") {
      batch = std::atoi(next().c_str());
    } else if (arg == "--no-llama-cpp") {
      llama_cpp = false;
    } else if (arg == "--keep") {
      keep = next();
    } else {
      return Fail("unknown option " + arg);
    }
  }
  if (threads < 1 || prompt_tokens < 1 || decode_tokens < 1 || batch < 1) {
    return Fail("counts must be positive");
  }
  omp_set_num_threads(threads);

  MambaConfig config;
  config.d_model = 768;
  config.n_layer = 24;
  config.d_state = 16;
  config.d_inner = 1536;
  config.d_conv = 4;
  config.dt_rank = 48;
  config.vocab_size = 50280;
  const std::string gguf = keep.empty()
                               ? (std::filesystem::temp_directory_path() /
                                  ("llive-cpu-decode-" + std::to_string(::getpid()) + ".gguf"))
                                     .string()
                               : keep;
  {
    auto model = MambaModel::FromWeights(config, RandomMambaWeights(config, {.seed = 1}));
    if (!model.ok()) return Fail(std::string(model.status().message()));
    absl::Status written = WriteMambaGguf(
        **model, LLIVE_SOURCE_DIR "/tests/fixtures/tokenizers/gpt-neox-20b-tokenizer.json", gguf,
        DType::kF32, "mamba-130m-shape-random");
    if (!written.ok()) return Fail(std::string(written.message()));
  }
  auto backend = MambaBackend::Open(gguf);
  if (!backend.ok()) return Fail(std::string(backend.status().message()));
  const int64_t vocab = (*backend)->Info().vocab_size;
  std::vector<int32_t> prompt(prompt_tokens);
  for (int i = 0; i < prompt_tokens; ++i) prompt[i] = (i * 7919 + 13) % 50000;

  // Prefill: one Feed of the whole prompt (best of 3).
  double prefill_seconds = 1e30;
  std::unique_ptr<ModelState> state;
  for (int pass = 0; pass < 3; ++pass) {
    state = *(*backend)->NewState();
    const auto start = std::chrono::steady_clock::now();
    auto logits = (*backend)->Feed(*state, prompt);
    prefill_seconds = std::min(prefill_seconds, Seconds(start));
    if (!logits.ok()) return Fail(std::string(logits.status().message()));
  }
  // Decode: greedy single steps.
  auto logits = *(*backend)->Feed(*state, {1});
  const auto decode_start = std::chrono::steady_clock::now();
  for (int step = 0; step < decode_tokens; ++step) {
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ModelState* states[] = {state.get()};
    logits = std::move((*(*backend)->StepBatch(states, {next}))[0]);
  }
  const double decode_seconds = Seconds(decode_start);
  // Batched decode: `batch` states stepped together.
  std::vector<std::unique_ptr<ModelState>> batch_states;
  std::vector<ModelState*> batch_pointers;
  for (int b = 0; b < batch; ++b) {
    batch_states.push_back(state->Clone());
    batch_pointers.push_back(batch_states.back().get());
  }
  const auto batch_start = std::chrono::steady_clock::now();
  for (int step = 0; step < decode_tokens; ++step) {
    std::vector<int32_t> tokens(batch);
    for (int b = 0; b < batch; ++b) tokens[b] = (step * 31 + b * 17) % static_cast<int>(vocab);
    if (!(*backend)->StepBatch(batch_pointers, tokens).ok()) return Fail("batched step failed");
  }
  const double batch_seconds = Seconds(batch_start);

  double llama_prefill = 0, llama_decode = 0;
  std::string llama_note = "not run";
  const std::string node = FindOnPath("node");
  const std::string peers = LLIVE_SOURCE_DIR "/tests/peers";
  if (llama_cpp && !node.empty() &&
      std::filesystem::exists(peers + "/node_modules/node-llama-cpp")) {
    const std::string request_path = gguf + ".request.json";
    std::ofstream(request_path) << nlohmann::json({{"model", gguf},
                                                   {"prompts", {prompt, prompt}},
                                                   {"steps", decode_tokens},
                                                   {"threads", threads}})
                                       .dump();
    const std::string output_path = gguf + ".answer.json";
    const std::string command =
        node + " " + peers + "/llama_greedy.mjs " + request_path + " > " + output_path;
    if (std::system(command.c_str()) == 0) {
      std::ifstream in(output_path);
      nlohmann::json answer = nlohmann::json::parse(in, nullptr, false);
      if (!answer.is_discarded()) {
        llama_prefill = answer.value("prefill_tokens_per_second", 0.0);
        llama_decode = answer.value("decode_tokens_per_second", 0.0);
        llama_note = "node-llama-cpp 3.21.1";
      }
    } else {
      llama_note = "failed";
    }
    std::filesystem::remove(request_path);
    std::filesystem::remove(output_path);
  }
  const double bandwidth = MeasureReadBandwidth(threads);
  const double weight_bytes = static_cast<double>(std::filesystem::file_size(gguf));
  if (keep.empty()) std::filesystem::remove(gguf);

  const double decode_rate = decode_tokens / decode_seconds;
  std::printf("mamba-130m shape (random weights, F32 GGUF %.0f MB), %d threads\n",
              weight_bytes / 1e6, threads);
  std::printf("%-34s %12s %12s\n", "", "llive", "llama.cpp");
  std::printf("%-34s %12.1f %12.1f\n",
              ("prefill tok/s (" + std::to_string(prompt_tokens) + " tokens)").c_str(),
              prompt_tokens / prefill_seconds, llama_prefill);
  std::printf("%-34s %12.1f %12.1f\n", "decode tok/s (batch 1)", decode_rate, llama_decode);
  std::printf("%-34s %12.1f %12s\n", ("decode tok/s (batch " + std::to_string(batch) + ")").c_str(),
              batch * decode_tokens / batch_seconds, "-");
  std::printf("%-34s %12.2f\n", "decode GB/s (weights per token)",
              weight_bytes * decode_rate / 1e9);
  std::printf("%-34s %12.2f\n", "measured read bandwidth GB/s", bandwidth / 1e9);
  std::printf("%-34s %11.0f%%\n", "decode share of bandwidth",
              100.0 * weight_bytes * decode_rate / bandwidth);
  std::printf("llama.cpp: %s\n", llama_note.c_str());
  return 0;
}
