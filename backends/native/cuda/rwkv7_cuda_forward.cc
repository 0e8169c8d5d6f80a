// Rwkv7DeviceForward over Rwkv7CudaModel: one-token segments go through the decode graph of a
// batch sized to the next power of two (so a handful of graphs serve every batch size), longer
// segments through the prefill path one at a time.
#include <algorithm>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/rwkv7_cuda_model.h"
#include "backends/native/rwkv7_device_forward.h"

namespace llive::backends::native {
namespace {

using cuda::Rwkv7CudaBatch;
using cuda::Rwkv7CudaModel;

#define LLIVE_FORWARD_RETURN_IF_ERROR(expr)                           \
  do {                                                                \
    if (absl::Status status_ = (expr); !status_.ok()) return status_; \
  } while (false)

class Rwkv7CudaForward final : public Rwkv7DeviceForward {
 public:
  explicit Rwkv7CudaForward(std::unique_ptr<Rwkv7CudaModel> model) : model_(std::move(model)) {}

  absl::Status Forward(absl::Span<const Rwkv7Segment> segments) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<const Rwkv7Segment*> steps;
    for (const Rwkv7Segment& segment : segments) {
      if (segment.tokens.empty()) continue;
      if (segment.tokens.size() == 1) {
        steps.push_back(&segment);
      } else {
        LLIVE_FORWARD_RETURN_IF_ERROR(Prefill(segment));
      }
    }
    if (steps.empty()) return absl::OkStatus();
    return Step(steps);
  }

 private:
  // The batch of `capacity` slots, made on first use.
  absl::StatusOr<Rwkv7CudaBatch*> BatchOf(int64_t capacity) {
    auto found = batches_.find(capacity);
    if (found != batches_.end()) return found->second.get();
    absl::StatusOr<std::unique_ptr<Rwkv7CudaBatch>> batch = model_->NewBatch(capacity);
    if (!batch.ok()) return batch.status();
    Rwkv7CudaBatch* raw = batch->get();
    batches_.emplace(capacity, *std::move(batch));
    return raw;
  }

  absl::Status Prefill(const Rwkv7Segment& segment) {
    absl::StatusOr<Rwkv7CudaBatch*> batch = BatchOf(1);
    if (!batch.ok()) return batch.status();
    LLIVE_FORWARD_RETURN_IF_ERROR((*batch)->SetState(0, *segment.state));
    LLIVE_FORWARD_RETURN_IF_ERROR(
        model_->Forward(**batch, segment.tokens, static_cast<int64_t>(segment.tokens.size())));
    return Finish(**batch, {&segment});
  }

  absl::Status Step(const std::vector<const Rwkv7Segment*>& steps) {
    int64_t capacity = 1;
    while (capacity < static_cast<int64_t>(steps.size())) capacity *= 2;
    absl::StatusOr<Rwkv7CudaBatch*> batch = BatchOf(capacity);
    if (!batch.ok()) return batch.status();
    std::vector<int32_t> tokens(capacity, 0);  // idle slots compute along on token 0
    for (size_t i = 0; i < steps.size(); ++i) {
      LLIVE_FORWARD_RETURN_IF_ERROR((*batch)->SetState(static_cast<int64_t>(i), *steps[i]->state));
      tokens[i] = steps[i]->tokens[0];
    }
    LLIVE_FORWARD_RETURN_IF_ERROR(model_->Step(**batch, tokens));
    return Finish(**batch, steps);
  }

  // Copies slot i's state and logits back into segments[i].
  absl::Status Finish(const Rwkv7CudaBatch& batch,
                      const std::vector<const Rwkv7Segment*>& segments) {
    const int64_t vocab = model_->config().vocab_size;
    bool want_logits = false;
    for (const Rwkv7Segment* segment : segments) want_logits |= segment->logits != nullptr;
    std::vector<float> logits;
    if (want_logits) {
      absl::StatusOr<std::vector<float>> all = batch.Logits();
      if (!all.ok()) return all.status();
      logits = *std::move(all);
    }
    for (size_t i = 0; i < segments.size(); ++i) {
      absl::StatusOr<Rwkv7StateData> state = batch.GetState(static_cast<int64_t>(i));
      if (!state.ok()) return state.status();
      *segments[i]->state = *std::move(state);
      if (segments[i]->logits != nullptr) {
        std::copy_n(logits.data() + i * vocab, vocab, segments[i]->logits);
      }
    }
    return absl::OkStatus();
  }

  std::mutex mutex_;
  std::unique_ptr<Rwkv7CudaModel> model_;
  std::map<int64_t, std::unique_ptr<Rwkv7CudaBatch>> batches_;  // by capacity
};

}  // namespace

absl::StatusOr<std::unique_ptr<Rwkv7DeviceForward>> CreateRwkv7CudaForward(
    const Rwkv7Weights& weights, int ordinal, cuda::WeightDtype gpu_weights) {
  absl::StatusOr<std::unique_ptr<cuda::Rwkv7CudaModel>> model =
      cuda::Rwkv7CudaModel::Create(weights, gpu_weights, ordinal);
  if (!model.ok()) return model.status();
  return std::make_unique<Rwkv7CudaForward>(*std::move(model));
}

}  // namespace llive::backends::native
