// MambaCudaModel in a build without CUDA: Create says how to get one; nothing else is
// reachable because no model can exist.
#include "backends/native/cuda/mamba_cuda_model.h"

namespace llive::backends::cuda {

struct MambaCudaModel::Impl {};

absl::StatusOr<std::unique_ptr<MambaCudaModel>> MambaCudaModel::Create(const MambaModel&,
                                                                       const MambaCudaOptions&) {
  return absl::FailedPreconditionError(
      "this llive was built without CUDA; rebuild with the CUDA toolkit and -DLLIVE_CUDA=ON "
      "(docs/building.md) to run Mamba on a GPU, or use --device cpu");
}

MambaCudaModel::MambaCudaModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MambaCudaModel::~MambaCudaModel() = default;

}  // namespace llive::backends::cuda
