// Names of finish reasons as they appear in JSON and on the command line.
#include "backends/llm_backend.h"

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

}  // namespace llive::backends
