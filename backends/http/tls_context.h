// The client TLS configuration: which certificate authorities are trusted.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/ssl/context.hpp"

namespace llive::backends::http {

// A TLS 1.2+ client context that verifies server certificates against `ca_file`
// (PEM) or, when it is empty, the system store (OpenSSL's default paths, which honour
// SSL_CERT_FILE and SSL_CERT_DIR). InvalidArgument naming the file when it cannot be
// loaded. The context is shared by all connections of a client (OpenSSL makes that
// safe once it is set up).
absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    const std::string& ca_file);

}  // namespace llive::backends::http
