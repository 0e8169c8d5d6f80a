// Absolute http:// and https:// URLs, as backends and proxies are configured.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llive::backends::http {

struct Url {
  std::string scheme;    // "http" or "https"
  std::string userinfo;  // "user:password" before '@' (proxies); empty for none
  std::string host;      // without the brackets of an IPv6 literal
  uint16_t port = 0;     // the scheme's default when the URL has none
  std::string target;    // path and query, starting with '/'

  bool IsTls() const { return scheme == "https"; }
  // "host:port", IPv6 literals in brackets: the Host header and CONNECT target.
  std::string Authority() const;
  // The URL without userinfo, for messages (never leaks proxy passwords).
  std::string Redacted() const;
};

// Parses an absolute URL. InvalidArgument naming the text for anything but http or
// https, a missing host, a bad port, or spaces and control characters.
absl::StatusOr<Url> ParseUrl(absl::string_view text);

// Joins a base URL ("http://h:1/v1/") and a path ("/chat/completions") with exactly
// one '/' between them.
std::string JoinUrl(absl::string_view base, absl::string_view path);

// True for "localhost", 127.0.0.0/8 and ::1.
bool IsLoopbackHost(absl::string_view host);

}  // namespace llive::backends::http
