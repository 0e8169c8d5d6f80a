// Plugs the native Mamba backend into backend resolution, so that `mamba:PATH` names it in
// configuration, CLI flags ($LLIVE_LLM_BACKEND, --backend) and code.
#pragma once

namespace llive::backends::native {

// Registers MambaBackend::Open as the factory for BackendSpec::Kind::kMamba (see
// backends/native_backend_registry.h). Idempotent and thread-safe; call it at start-up.
void RegisterMambaBackend();

}  // namespace llive::backends::native
