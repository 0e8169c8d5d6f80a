// Which proxy, if any, a request goes through: HTTPS_PROXY, HTTP_PROXY, NO_PROXY.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/http/url.h"

namespace llive::backends::http {

// The proxy configuration, usually read from the environment. Empty strings mean
// "no proxy" for that scheme.
struct ProxySettings {
  std::string http_proxy;   // for http:// URLs (HTTP_PROXY or http_proxy)
  std::string https_proxy;  // for https:// URLs (HTTPS_PROXY or https_proxy), via CONNECT
  std::string no_proxy;     // NO_PROXY or no_proxy: comma-separated hosts, domains, "*"

  // Reads the variables; the upper-case spelling wins when both are set.
  static ProxySettings FromEnvironment();
};

// The proxy to use for `target`, or nullopt to connect directly. NO_PROXY entries
// match a host exactly or as a domain suffix ("example.com" and ".example.com" both
// cover "api.example.com"), optionally with ":PORT"; "*" turns proxies off. A
// proxy URL without a scheme is taken as http://. InvalidArgument for a malformed
// proxy URL or an https:// proxy (only plain-HTTP proxies are supported).
absl::StatusOr<std::optional<Url>> ProxyFor(const ProxySettings& settings, const Url& target);

}  // namespace llive::backends::http
