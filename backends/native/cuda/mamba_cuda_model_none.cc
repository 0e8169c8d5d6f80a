// MambaCudaModel in a build without CUDA: Create says how to get one. No model can exist, so
// the other members are unreachable; they answer as a model that is not there.
#include "backends/native/cuda/mamba_cuda_model.h"

namespace llive::backends::cuda {
namespace {

absl::Status NotBuilt() {
  return absl::FailedPreconditionError(
      "this llive was built without CUDA; rebuild with the CUDA toolkit and -DLLIVE_CUDA=ON "
      "(docs/building.md) to run Mamba on a GPU, or use --device cpu");
}

}  // namespace

struct MambaCudaModel::Impl {
  MambaConfig config;
};

absl::StatusOr<std::unique_ptr<MambaCudaModel>> MambaCudaModel::Create(const MambaModel&,
                                                                       const MambaCudaOptions&) {
  return NotBuilt();
}

MambaCudaModel::MambaCudaModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MambaCudaModel::~MambaCudaModel() = default;

const MambaConfig& MambaCudaModel::config() const { return impl_->config; }
WeightDtype MambaCudaModel::weight_dtype() const { return WeightDtype::kBf16; }
int64_t MambaCudaModel::weight_bytes() const { return 0; }
int64_t MambaCudaModel::state_bytes() const { return 0; }
int64_t MambaCudaModel::device_bytes() const { return 0; }
absl::StatusOr<int> MambaCudaModel::NewSlot() { return NotBuilt(); }
void MambaCudaModel::ReleaseSlot(int) {}
absl::Status MambaCudaModel::CopySlot(int, int) { return NotBuilt(); }
absl::Status MambaCudaModel::Download(int, MambaState&) { return NotBuilt(); }
absl::Status MambaCudaModel::Upload(const MambaState&, int) { return NotBuilt(); }

absl::StatusOr<std::vector<float>> MambaCudaModel::Forward(absl::Span<const int>, const int32_t*,
                                                           int64_t, bool) {
  return NotBuilt();
}

absl::StatusOr<std::vector<float>> MambaCudaModel::Step(absl::Span<const int>,
                                                        absl::Span<const int32_t>) {
  return NotBuilt();
}

absl::StatusOr<std::vector<int32_t>> MambaCudaModel::Decode(absl::Span<const int>,
                                                            absl::Span<const int32_t>, int, float,
                                                            uint64_t) {
  return NotBuilt();
}

}  // namespace llive::backends::cuda
