// Names of finish reasons as they appear in JSON and on the command line.
#include "backends/llm_backend.h"

#include "absl/strings/str_cat.h"
#include "backends/native/utf8.h"

namespace llive::backends {

absl::string_view FinishReasonName(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kError:
      return "error";
    case FinishReason::kCancelled:
      return "cancelled";
  }
  return "error";
}

absl::Status ValidateRequestText(const GenerateRequest& request) {
  if (absl::Status s = native::CheckUtf8(request.prompt, "the prompt"); !s.ok()) return s;
  if (absl::Status s = native::CheckUtf8(request.system, "the system prompt"); !s.ok()) return s;
  for (size_t i = 0; i < request.messages.size(); ++i) {
    if (absl::Status s =
            native::CheckUtf8(request.messages[i].content, absl::StrCat("message ", i));
        !s.ok()) {
      return s;
    }
  }
  for (size_t i = 0; i < request.stop.size(); ++i) {
    if (absl::Status s = native::CheckUtf8(request.stop[i], absl::StrCat("stop string ", i));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace llive::backends
