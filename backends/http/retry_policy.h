// When and how long the HTTP client waits before retrying a failed request.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "absl/strings/string_view.h"

namespace llive::backends::http {

// True for the statuses worth another try: 408, 429 and every 5xx except 501 and
// 505 (which will not change on a retry).
bool IsRetryableStatus(int status);

// The exponential backoff before retry number `retry` (0 for the first retry):
// base * 2^retry, capped at `max_delay`, with "equal jitter" (a uniformly random
// point in the upper half) so that many clients do not retry in lockstep.
std::chrono::milliseconds BackoffDelay(int retry, std::chrono::milliseconds base,
                                       std::chrono::milliseconds max_delay, std::mt19937_64& rng);

// Parses a Retry-After header value: delay-seconds ("120") or an HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT", relative to `now`). nullopt when unparseable.
std::optional<std::chrono::milliseconds> ParseRetryAfter(
    absl::string_view value, std::chrono::system_clock::time_point now);

}  // namespace llive::backends::http
