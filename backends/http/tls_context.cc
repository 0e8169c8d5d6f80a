// Client TLS context set-up: protocol floor and trust anchors.
#include "backends/http/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "absl/strings/str_cat.h"

namespace llive::backends::http {

absl::StatusOr<std::unique_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    const std::string& ca_file) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot load the system certificate store (", ec.message(),
          "); install ca-certificates or configure a CA file"));
    }
  } else {
    context->load_verify_file(ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(absl::StrCat("cannot load CA certificates from ", ca_file,
                                                     ": ", ec.message(),
                                                     "; expected a readable PEM file"));
    }
  }
  return context;
}

}  // namespace llive::backends::http
