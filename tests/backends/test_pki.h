// A throwaway certificate authority and server certificate, made with OpenSSL at
// test time, for TLS tests against the loopback server.
#pragma once

#include <string>
#include <vector>

namespace llive::testing {

struct TestPki {
  std::string ca_certificate_pem;      // trust this to accept the server
  std::string server_certificate_pem;  // signed by the CA
  std::string server_key_pem;
};

// A new CA (P-256, valid a day) and a server certificate for `dns_names` and
// `ip_addresses` (subjectAltName). Aborts the test binary on an OpenSSL failure.
TestPki MakeTestPki(const std::vector<std::string>& dns_names,
                    const std::vector<std::string>& ip_addresses);

}  // namespace llive::testing
