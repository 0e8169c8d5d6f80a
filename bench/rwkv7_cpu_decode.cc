// RWKV-7 on the CPU: llive's prefill and decoding speed next to llama.cpp's (node-llama-cpp,
// tests/peers) on the same GGUF file.
//
//   rwkv7_cpu_decode MODEL [--threads N] [--prompt-tokens P] [--decode-tokens D] [--batch B]
//                    [--no-llama-cpp]
// MODEL is an rwkv7 GGUF or a Hugging Face folder (then converted to an F32 GGUF in a temporary
// folder first, so both programs read the same weights). Prints a table of tokens per second.
#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backends/native/rwkv7_backend.h"
#include "backends/native/rwkv7_gguf_export.h"
#include "nlohmann/json.hpp"

namespace {

using llive::backends::ModelState;
using llive::backends::native::Rwkv7Backend;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "rwkv7_cpu_decode: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    return Fail(
        "usage: rwkv7_cpu_decode MODEL [--threads N] [--prompt-tokens P] [--decode-tokens D] "
        "[--batch B] [--no-llama-cpp]");
  }
  std::string model = argv[1];
  int threads = 2, prompt_tokens = 128, decode_tokens = 64, batch = 8;
  bool llama_cpp = true;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (arg == "--threads") threads = next();
    else if (arg == "--prompt-tokens") prompt_tokens = next();
    else if (arg == "--decode-tokens") decode_tokens = next();
    else if (arg == "--batch") batch = next();
    else if (arg == "--no-llama-cpp") llama_cpp = false;
    else return Fail("unknown option " + arg);
  }
  if (threads < 1 || prompt_tokens < 1 || decode_tokens < 2 || batch < 1) {
    return Fail("--threads, --prompt-tokens, --batch need positive values, --decode-tokens >= 2");
  }
  openblas_set_num_threads(threads);

  std::filesystem::path temp;
  if (std::filesystem::is_directory(model)) {
    auto source = Rwkv7Backend::Open(model);
    if (!source.ok()) return Fail(std::string(source.status().message()));
    temp = std::filesystem::temp_directory_path() /
           ("rwkv7_cpu_decode_" + std::to_string(::getpid()));
    std::filesystem::create_directories(temp);
    const std::string gguf = (temp / "model-f32.gguf").string();
    absl::Status written = llive::backends::native::WriteRwkv7Gguf(
        (*source)->weights(), (*source)->tokenizer(), gguf,
        llive::backends::native::DType::kF32, "bench");
    if (!written.ok()) return Fail(std::string(written.message()));
    model = gguf;
  }
  auto backend = Rwkv7Backend::Open(model);
  if (!backend.ok()) return Fail(std::string(backend.status().message()));
  const auto& info = (*backend)->Info();

  std::mt19937 random(1);
  std::uniform_int_distribution<int32_t> token(1, static_cast<int32_t>(info.vocab_size) - 1);
  std::vector<int32_t> prompt(prompt_tokens);
  for (int32_t& t : prompt) t = token(random);

  // Prefill, then greedy decoding of one sequence, then `batch` sequences stepped together.
  auto state = *(*backend)->NewState();
  auto start = std::chrono::steady_clock::now();
  std::vector<float> logits = *(*backend)->Feed(*state, prompt);
  const double prefill_seconds = Seconds(start);
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < decode_tokens; ++i) {
    const int32_t next = static_cast<int32_t>(
        std::max_element(logits.begin(), logits.end()) - logits.begin());
    ModelState* one[] = {state.get()};
    logits = (*(*backend)->StepBatch(one, {next}))[0];
  }
  const double decode_seconds = Seconds(start);
  std::vector<std::unique_ptr<ModelState>> states;
  std::vector<ModelState*> pointers;
  for (int b = 0; b < batch; ++b) {
    states.push_back(state->Clone());
    pointers.push_back(states.back().get());
  }
  std::vector<int32_t> step_tokens(batch);
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < decode_tokens; ++i) {
    for (int32_t& t : step_tokens) t = token(random);
    (void)*(*backend)->StepBatch(pointers, step_tokens);
  }
  const double batch_seconds = Seconds(start);

  std::printf("RWKV-7 CPU decode: %s\n", model.c_str());
  std::printf("  %lld layers, d_model %lld, vocab %lld; %d threads; prompt %d tokens; %d steps\n",
              static_cast<long long>(info.n_layer), static_cast<long long>(info.d_model),
              static_cast<long long>(info.vocab_size), threads, prompt_tokens, decode_tokens);
  std::printf("| program | prefill tok/s | decode tok/s (batch 1) | decode tok/s (batch %d) |\n",
              batch);
  std::printf("|---|---:|---:|---:|\n");
  std::printf("| llive | %.1f | %.1f | %.1f |\n", prompt_tokens / prefill_seconds,
              decode_tokens / decode_seconds, batch * decode_tokens / batch_seconds);

  if (llama_cpp) {
    const std::filesystem::path peers =
        std::filesystem::path(LLIVE_SOURCE_DIR) / "tests" / "peers";
    const std::filesystem::path request =
        std::filesystem::temp_directory_path() /
        ("rwkv7_cpu_decode_request_" + std::to_string(::getpid()) + ".json");
    nlohmann::json body = {{"model", model},
                           {"prompts", {prompt}},
                           {"steps", decode_tokens + 1},
                           {"threads", threads}};
    std::ofstream(request) << body.dump();
    const std::string command = "node " + (peers / "llama_greedy.mjs").string() + " " +
                                request.string() + " 2>/dev/null";
    std::string output;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      size_t n = 0;
      while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
      ::pclose(pipe);
    }
    std::filesystem::remove(request);
    nlohmann::json answer = nlohmann::json::parse(output, nullptr, false);
    if (answer.is_discarded()) {
      std::printf("| llama.cpp | (did not run: needs node and tests/peers/node_modules) | | |\n");
    } else {
      std::printf("| llama.cpp (node-llama-cpp 3.21.1) | %.1f | %.1f | |\n",
                  answer["prefill_tokens_per_second"].get<double>(),
                  answer["decode_tokens_per_second"].get<double>());
    }
  }
  if (!temp.empty()) std::filesystem::remove_all(temp);
  return 0;
}
