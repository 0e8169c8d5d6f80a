// Proxy selection from HTTPS_PROXY / HTTP_PROXY / NO_PROXY.
#include "backends/http/proxy.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace llive::backends::http {
namespace {

std::string Env(const char* upper, const char* lower) {
  if (const char* value = std::getenv(upper); value != nullptr && *value != '\0') return value;
  if (const char* value = std::getenv(lower); value != nullptr) return value;
  return "";
}

bool NoProxyMatches(absl::string_view no_proxy, const Url& target) {
  std::string host = absl::AsciiStrToLower(target.host);
  for (absl::string_view entry : absl::StrSplit(no_proxy, absl::ByAnyChar(", "), absl::SkipEmpty())) {
    if (entry == "*") return true;
    std::string pattern = absl::AsciiStrToLower(entry);
    // "host:port" restricts the entry to one port (not for bracket-less IPv6).
    if (size_t colon = pattern.rfind(':');
        colon != std::string::npos && pattern.find(':') == colon) {
      uint32_t port = 0;
      if (!absl::SimpleAtoi(pattern.substr(colon + 1), &port) || port != target.port) continue;
      pattern.resize(colon);
    }
    if (absl::StartsWith(pattern, "[") && absl::EndsWith(pattern, "]")) {
      pattern = pattern.substr(1, pattern.size() - 2);
    }
    absl::string_view domain = absl::StripPrefix(pattern, ".");
    if (host == domain || absl::EndsWith(host, absl::StrCat(".", domain))) return true;
  }
  return false;
}

}  // namespace

ProxySettings ProxySettings::FromEnvironment() {
  return ProxySettings{Env("HTTP_PROXY", "http_proxy"), Env("HTTPS_PROXY", "https_proxy"),
                       Env("NO_PROXY", "no_proxy")};
}

absl::StatusOr<std::optional<Url>> ProxyFor(const ProxySettings& settings, const Url& target) {
  const std::string& text = target.IsTls() ? settings.https_proxy : settings.http_proxy;
  if (text.empty() || NoProxyMatches(settings.no_proxy, target)) return std::nullopt;
  std::string with_scheme = absl::StrContains(text, "://") ? text : absl::StrCat("http://", text);
  absl::StatusOr<Url> proxy = ParseUrl(with_scheme);
  const char* variable = target.IsTls() ? "HTTPS_PROXY" : "HTTP_PROXY";
  if (!proxy.ok()) {
    // The URL may hold a password: name the variable, not its value.
    return absl::InvalidArgumentError(
        absl::StrCat(variable, " is not a valid proxy URL; expected http://[USER:PASS@]HOST:PORT"));
  }
  if (proxy->IsTls()) {
    return absl::InvalidArgumentError(absl::StrCat(
        variable, " names an https:// proxy; only http:// proxies are supported (the tunnel to "
                  "an https server is still encrypted end to end)"));
  }
  return std::optional<Url>(*std::move(proxy));
}

}  // namespace llive::backends::http
