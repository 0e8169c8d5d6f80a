// Backend names as users type them: "mock", "openai", "anthropic", "ollama",
// "mamba:PATH", "rwkv7:PATH".
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llive::backends {

struct BackendSpec {
  enum class Kind { kMock, kOpenAI, kAnthropic, kOllama, kMamba, kRwkv7 };
  Kind kind = Kind::kMock;
  std::string model_path;  // kMamba and kRwkv7: the model folder or GGUF file

  // True for the backends reached over HTTP (openai, anthropic, ollama).
  bool IsHttp() const;
  std::string ToString() const;
};

// Parses a backend name. Returns InvalidArgument naming the text and listing the
// known names for an unknown one, or for a native backend without a path.
absl::StatusOr<BackendSpec> ParseBackendSpec(absl::string_view text);

// The accepted spellings, for help texts: "mock|openai|anthropic|ollama|mamba:PATH|rwkv7:PATH".
absl::string_view BackendSpecSpellings();

}  // namespace llive::backends
