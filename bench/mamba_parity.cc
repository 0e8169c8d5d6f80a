// Compares llive's Mamba logits with a reference file written by
// scripts/reference/mamba_reference.py (transformers' MambaForCausalLM):
//   mamba_parity MODEL_DIR EXPECTED.safetensors
// EXPECTED holds "input_ids" (I64 [T]) and "logits" (F32 [T, vocab]). Prints the relative
// error max|a-b| / max|b| of (1) one prefill over all T tokens and (2) a prefill of T-56
// tokens followed by 56 single steps, and exits 1 when either exceeds 1e-4.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backends/native/mamba_backend.h"
#include "backends/native/safetensors.h"

namespace {

using llive::backends::native::DType;
using llive::backends::native::MambaBackend;

double RelativeError(const float* actual, const float* expected, size_t n) {
  double max_difference = 0, max_expected = 0;
  for (size_t i = 0; i < n; ++i) {
    max_difference = std::max(max_difference, std::abs(double(actual[i]) - expected[i]));
    max_expected = std::max(max_expected, std::abs(double(expected[i])));
  }
  return max_difference / max_expected;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "mamba_parity: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return Fail("usage: mamba_parity MODEL_DIR EXPECTED.safetensors");
  auto backend = MambaBackend::Open(argv[1]);
  if (!backend.ok()) return Fail(std::string(backend.status().message()));
  std::stringstream buffer;
  buffer << std::ifstream(argv[2], std::ios::binary).rdbuf();
  const std::string file = buffer.str();
  auto expected = llive::backends::native::ParseSafetensors(
      reinterpret_cast<const uint8_t*>(file.data()), file.size(), argv[2]);
  if (!expected.ok()) return Fail(std::string(expected.status().message()));
  const llive::backends::native::TensorRef *ids_ref = nullptr, *logits_ref = nullptr;
  for (const auto& tensor : expected->tensors) {
    if (tensor.name == "input_ids" && tensor.dtype == DType::kI64) ids_ref = &tensor;
    if (tensor.name == "logits" && tensor.dtype == DType::kF32) logits_ref = &tensor;
  }
  if (ids_ref == nullptr || logits_ref == nullptr) {
    return Fail("expected file needs input_ids (I64) and logits (F32)");
  }
  std::vector<int32_t> ids(ids_ref->elements());
  for (size_t i = 0; i < ids.size(); ++i) {
    int64_t id;
    std::memcpy(&id, ids_ref->data + 8 * i, 8);
    ids[i] = static_cast<int32_t>(id);
  }
  const auto* reference = reinterpret_cast<const float*>(logits_ref->data);
  const int64_t vocab = (*backend)->Info().vocab_size;
  const int64_t steps = std::min<int64_t>(56, static_cast<int64_t>(ids.size()) - 1);
  const int64_t prefix = static_cast<int64_t>(ids.size()) - steps;

  auto state = (*backend)->NewState();
  auto all = (*backend)->FeedAllPositions(**state, ids);
  if (!all.ok()) return Fail(std::string(all.status().message()));
  const double prefill_error = RelativeError(all->data(), reference, all->size());

  auto split_state = (*backend)->NewState();
  auto split = (*backend)->Feed(**split_state, absl::MakeConstSpan(ids).subspan(0, prefix));
  if (!split.ok()) return Fail(std::string(split.status().message()));
  std::vector<float> split_logits = *split;
  for (int64_t t = prefix; t < static_cast<int64_t>(ids.size()); ++t) {
    llive::backends::ModelState* states[] = {split_state->get()};
    auto step = (*backend)->StepBatch(states, {ids[t]});
    if (!step.ok()) return Fail(std::string(step.status().message()));
    split_logits.insert(split_logits.end(), (*step)[0].begin(), (*step)[0].end());
  }
  const double split_error =
      RelativeError(split_logits.data(), reference + (prefix - 1) * vocab, split_logits.size());
  std::printf("%-40s %s\n", "model", (*backend)->model().config().ToString().c_str());
  std::printf("%-40s %.3e\n", "prefill all positions, rel. error", prefill_error);
  std::printf(
      "%-40s %.3e\n",
      ("prefill " + std::to_string(prefix) + " + " + std::to_string(steps) + " steps, rel. error")
          .c_str(),
      split_error);
  const bool pass = prefill_error <= 1e-4 && split_error <= 1e-4;
  std::printf("%-40s %s\n", "parity (<= 1e-4)", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}
