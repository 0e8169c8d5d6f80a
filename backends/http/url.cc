// URL parsing for the HTTP client: only what backends and proxies need.
#include "backends/http/url.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace llive::backends::http {

std::string Url::Authority() const {
  std::string host_text = host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host;
  return absl::StrCat(host_text, ":", port);
}

std::string Url::Redacted() const { return absl::StrCat(scheme, "://", Authority(), target); }

absl::StatusOr<Url> ParseUrl(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("bad URL \"", text, "\": ", why));
  };
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return bad("it contains a space or control character");
    }
  }
  Url url;
  size_t scheme_end = text.find("://");
  if (scheme_end == absl::string_view::npos) return bad("expected http://HOST[:PORT][/PATH]");
  url.scheme = absl::AsciiStrToLower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") return bad("the scheme must be http or https");
  absl::string_view rest = text.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, authority_end);
  absl::string_view target =
      authority_end == absl::string_view::npos ? "" : rest.substr(authority_end);
  if (size_t hash = target.find('#'); hash != absl::string_view::npos) target = target.substr(0, hash);
  url.target = target.empty() || target.front() != '/' ? absl::StrCat("/", target) : std::string(target);
  if (size_t at = authority.rfind('@'); at != absl::string_view::npos) {
    url.userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  absl::string_view port_text;
  if (absl::StartsWith(authority, "[")) {
    size_t close = authority.find(']');
    if (close == absl::string_view::npos) return bad("unclosed '[' in the host");
    url.host = std::string(authority.substr(1, close - 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 address");
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return bad("no host name");
  url.port = url.IsTls() ? 443 : 80;
  if (!port_text.empty()) {
    uint32_t port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
    url.port = static_cast<uint16_t>(port);
  }
  return url;
}

std::string JoinUrl(absl::string_view base, absl::string_view path) {
  while (absl::EndsWith(base, "/")) base.remove_suffix(1);
  while (absl::StartsWith(path, "/")) path.remove_prefix(1);
  return absl::StrCat(base, "/", path);
}

bool IsLoopbackHost(absl::string_view host) {
  return absl::EqualsIgnoreCase(host, "localhost") || host == "::1" ||
         absl::StartsWith(host, "127.");
}

}  // namespace llive::backends::http
