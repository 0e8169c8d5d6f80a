// Parsing and printing backend names.
#include "backends/backend_spec.h"

#include "absl/strings/str_cat.h"

namespace llive::backends {

absl::string_view BackendSpecSpellings() {
  return "mock|openai|anthropic|ollama|mamba:PATH|rwkv7:PATH";
}

bool BackendSpec::IsHttp() const {
  return kind == Kind::kOpenAI || kind == Kind::kAnthropic || kind == Kind::kOllama;
}

std::string BackendSpec::ToString() const {
  switch (kind) {
    case Kind::kMock:
      return "mock";
    case Kind::kOpenAI:
      return "openai";
    case Kind::kAnthropic:
      return "anthropic";
    case Kind::kOllama:
      return "ollama";
    case Kind::kMamba:
      return absl::StrCat("mamba:", model_path);
    case Kind::kRwkv7:
      return absl::StrCat("rwkv7:", model_path);
  }
  return "mock";
}

absl::StatusOr<BackendSpec> ParseBackendSpec(absl::string_view text) {
  if (text == "mock") return BackendSpec{BackendSpec::Kind::kMock, ""};
  if (text == "openai") return BackendSpec{BackendSpec::Kind::kOpenAI, ""};
  if (text == "anthropic") return BackendSpec{BackendSpec::Kind::kAnthropic, ""};
  if (text == "ollama") return BackendSpec{BackendSpec::Kind::kOllama, ""};
  for (auto [prefix, kind] : {std::pair{absl::string_view("mamba:"), BackendSpec::Kind::kMamba},
                              std::pair{absl::string_view("rwkv7:"), BackendSpec::Kind::kRwkv7}}) {
    if (text.substr(0, prefix.size()) == prefix) {
      absl::string_view path = text.substr(prefix.size());
      if (path.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("backend \"", text, "\" needs a model path after the colon, e.g. ", prefix,
                         "/path/to/model"));
      }
      return BackendSpec{kind, std::string(path)};
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown backend \"", text, "\"; known backends: ", BackendSpecSpellings()));
}

}  // namespace llive::backends
