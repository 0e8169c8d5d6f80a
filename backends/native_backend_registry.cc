// The process-wide table of native backend factories.
#include "backends/native_backend_registry.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace llive::backends {
namespace {

struct Registry {
  absl::Mutex mu;
  std::map<BackendSpec::Kind, NativeBackendFactory> factories ABSL_GUARDED_BY(mu);
};

Registry& TheRegistry() {
  static Registry* registry = new Registry;  // never destroyed: usable during exit
  return *registry;
}

}  // namespace

void RegisterNativeBackendFactory(BackendSpec::Kind kind, NativeBackendFactory factory) {
  Registry& registry = TheRegistry();
  absl::MutexLock lock(&registry.mu);
  registry.factories[kind] = std::move(factory);
}

absl::StatusOr<std::unique_ptr<StatefulBackend>> CreateNativeBackend(
    const BackendSpec& spec, const NativeBackendOptions& options) {
  if (spec.kind != BackendSpec::Kind::kMamba && spec.kind != BackendSpec::Kind::kRwkv7) {
    return absl::InvalidArgumentError(
        absl::StrCat("backend \"", spec.ToString(), "\" is not a native model backend"));
  }
  NativeBackendFactory factory;
  {
    Registry& registry = TheRegistry();
    absl::MutexLock lock(&registry.mu);
    auto it = registry.factories.find(spec.kind);
    if (it != registry.factories.end()) factory = it->second;
  }
  absl::string_view kind = spec.kind == BackendSpec::Kind::kMamba ? "mamba" : "rwkv7";
  if (!factory) {
    return absl::FailedPreconditionError(
        absl::StrCat("this build has no native ", kind, " backend (needed for \"",
                     spec.ToString(), "\"); use an HTTP backend or a build that includes it"));
  }
  return factory(spec.model_path, options);
}

}  // namespace llive::backends
