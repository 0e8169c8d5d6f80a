// Backoff arithmetic and Retry-After parsing.
#include "backends/http/retry_policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"

namespace llive::backends::http {

bool IsRetryableStatus(int status) {
  if (status == 408 || status == 429) return true;
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

std::chrono::milliseconds BackoffDelay(int retry, std::chrono::milliseconds base,
                                       std::chrono::milliseconds max_delay, std::mt19937_64& rng) {
  int64_t delay = base.count();
  for (int i = 0; i < retry && delay < max_delay.count(); ++i) delay *= 2;
  delay = std::min<int64_t>(delay, max_delay.count());
  if (delay <= 1) return std::chrono::milliseconds(delay);
  std::uniform_int_distribution<int64_t> jitter(delay / 2, delay);
  return std::chrono::milliseconds(jitter(rng));
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    absl::string_view value, std::chrono::system_clock::time_point now) {
  value = absl::StripAsciiWhitespace(value);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return std::nullopt;
    return std::chrono::milliseconds(std::min<int64_t>(seconds, int64_t{1} << 31) * 1000);
  }
  absl::Time when;
  std::string error;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", value, absl::UTCTimeZone(), &when, &error)) {
    return std::nullopt;
  }
  absl::Duration delta = when - absl::FromChrono(now);
  if (delta < absl::ZeroDuration()) return std::chrono::milliseconds(0);
  return absl::ToChronoMilliseconds(delta);
}

}  // namespace llive::backends::http
