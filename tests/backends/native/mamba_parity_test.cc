// Parity with Hugging Face transformers' MambaForCausalLM on the committed fixture
// (tests/fixtures/mamba, made by scripts/reference/mamba_reference.py): the logits of all
// 256 positions, and of a 200-token prefill followed by 56 steps, within 1e-4 relative.
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "backends/native/mamba_backend.h"
#include "backends/native/safetensors.h"
#include "gtest/gtest.h"

namespace llive::backends::native {
namespace {

const std::string kFixture = std::string(LLIVE_SOURCE_DIR) + "/tests/fixtures/mamba";

class MambaParityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = MambaBackend::Open(kFixture);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    std::stringstream buffer;
    buffer << std::ifstream(kFixture + "/expected.safetensors", std::ios::binary).rdbuf();
    file_ = buffer.str();
    auto contents = ParseSafetensors(reinterpret_cast<const uint8_t*>(file_.data()), file_.size(),
                                     "expected.safetensors");
    ASSERT_TRUE(contents.ok()) << contents.status();
    for (const TensorRef& tensor : contents->tensors) {
      if (tensor.name == "input_ids") {
        for (int64_t i = 0; i < tensor.elements(); ++i) {
          int64_t id;
          std::memcpy(&id, tensor.data + 8 * i, 8);
          ids_.push_back(static_cast<int32_t>(id));
        }
      } else if (tensor.name == "logits") {
        expected_.resize(tensor.elements());
        std::memcpy(expected_.data(), tensor.data, tensor.bytes);
      }
    }
    ASSERT_EQ(ids_.size(), 256u);
    ASSERT_EQ(expected_.size(), 256u * backend_->Info().vocab_size);
  }

  // max |actual - expected| / max |expected| over the rows from `first_row` on.
  double RelativeError(const std::vector<float>& actual, size_t first_row) const {
    const size_t offset = first_row * backend_->Info().vocab_size;
    EXPECT_EQ(actual.size() + offset, expected_.size());
    double difference = 0, scale = 0;
    for (size_t i = 0; i < actual.size(); ++i) {
      difference = std::max(difference, std::abs(double(actual[i]) - expected_[offset + i]));
      scale = std::max(scale, std::abs(double(expected_[offset + i])));
    }
    return difference / scale;
  }

  std::unique_ptr<MambaBackend> backend_;
  std::string file_;
  std::vector<int32_t> ids_;
  std::vector<float> expected_;
};

TEST_F(MambaParityTest, PrefillOfAllTokensMatchesTransformers) {
  auto state = backend_->NewState();
  auto logits = backend_->FeedAllPositions(**state, ids_);
  ASSERT_TRUE(logits.ok()) << logits.status();
  const double error = RelativeError(*logits, 0);
  RecordProperty("relative_error", std::to_string(error));
  EXPECT_LE(error, 1e-4);
}

TEST_F(MambaParityTest, PrefillThenStepsMatchesTransformers) {
  auto state = backend_->NewState();
  auto first = backend_->Feed(**state, absl::MakeConstSpan(ids_).subspan(0, 200));
  ASSERT_TRUE(first.ok()) << first.status();
  std::vector<float> logits = *first;
  for (size_t t = 200; t < ids_.size(); ++t) {
    ModelState* states[] = {state->get()};
    auto step = backend_->StepBatch(states, {ids_[t]});
    ASSERT_TRUE(step.ok()) << step.status();
    logits.insert(logits.end(), (*step)[0].begin(), (*step)[0].end());
  }
  EXPECT_LE(RelativeError(logits, 199), 1e-4);
}

}  // namespace
}  // namespace llive::backends::native
