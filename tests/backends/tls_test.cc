// TLS tests: a loopback https server with a certificate from a CA made at test time.
// The client must accept it only with that CA configured and only under a name the
// certificate lists, including through a CONNECT proxy tunnel.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "backends/http/http_client.h"
#include "tests/backends/loopback_http_server.h"
#include "tests/backends/test_pki.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::http {
namespace {

using ::llive::testing::Exchange;
using ::llive::testing::LoopbackHttpServer;
using ::llive::testing::TempDir;
using ::testing::HasSubstr;

class TlsTest : public ::testing::Test {
 protected:
  TlsTest()
      : pki_(llive::testing::MakeTestPki({"localhost", "backend.invalid"}, {"127.0.0.1"})),
        other_pki_(llive::testing::MakeTestPki({"localhost"}, {"127.0.0.1"})),
        server_([](Exchange& exchange) { exchange.Respond(200, "text/plain", "secure hello"); },
                llive::testing::TlsIdentity{pki_.server_certificate_pem, pki_.server_key_pem}) {
    std::ofstream(ca_file_) << pki_.ca_certificate_pem;
    std::ofstream(other_ca_file_) << other_pki_.ca_certificate_pem;
  }

  std::unique_ptr<HttpClient> Client(const std::string& ca_file,
                                     std::optional<ProxySettings> proxy = ProxySettings{}) {
    HttpClientOptions options;
    options.ca_file = ca_file;
    options.read_timeout_ms = 2000;
    options.connect_timeout_ms = 2000;
    options.max_retries = 0;
    options.proxy = std::move(proxy);
    absl::StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }

  absl::StatusOr<HttpResponse> Get(HttpClient& client, const std::string& host) {
    HttpRequest request;
    request.method = "GET";
    request.url = absl::StrCat("https://", host, ":", server_.port(), "/");
    return client.Send(request);
  }

  llive::testing::TestPki pki_;
  llive::testing::TestPki other_pki_;
  LoopbackHttpServer server_;
  TempDir dir_;
  std::string ca_file_ = dir_.File("ca.pem");
  std::string other_ca_file_ = dir_.File("other-ca.pem");
};

TEST_F(TlsTest, SucceedsWithTheRightCaByNameAndByAddress) {
  auto client = Client(ca_file_);
  for (const char* host : {"localhost", "127.0.0.1"}) {
    absl::StatusOr<HttpResponse> response = Get(*client, host);
    ASSERT_TRUE(response.ok()) << host << ": " << response.status();
    EXPECT_EQ(response->body, "secure hello");
  }
}

TEST_F(TlsTest, UnknownCaIsRejectedClearly) {
  auto client = Client(other_ca_file_);
  absl::StatusOr<HttpResponse> response = Get(*client, "localhost");
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("TLS certificate of localhost was rejected"));
  EXPECT_THAT(response.status().message(), HasSubstr("CA file"));
  // The system store does not know the test CA either.
  auto system_client = Client("");
  EXPECT_THAT(Get(*system_client, "localhost").status().message(), HasSubstr("rejected"));
}

TEST_F(TlsTest, WrongHostNameIsRejectedClearly) {
  llive::testing::TestPki named = llive::testing::MakeTestPki({"api.example.com"}, {});
  LoopbackHttpServer server(
      [](Exchange& exchange) { exchange.Respond(200, "text/plain", "should not arrive"); },
      llive::testing::TlsIdentity{named.server_certificate_pem, named.server_key_pem});
  std::string ca = dir_.File("named-ca.pem");
  std::ofstream(ca) << named.ca_certificate_pem;
  auto client = Client(ca);
  HttpRequest request;
  request.method = "GET";
  request.url = absl::StrCat("https://localhost:", server.port(), "/");
  absl::StatusOr<HttpResponse> response = client->Send(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("not valid for that host name"));
}

TEST_F(TlsTest, MissingCaFileIsInvalidArgument) {
  HttpClientOptions options;
  options.ca_file = dir_.File("missing.pem");
  absl::StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(), HasSubstr("missing.pem"));
}

// Pumps bytes both ways between two sockets until either side closes.
void Pump(int a, int b) {
  char buffer[16384];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  while (::poll(fds, 2, 3000) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) return;
      if (::write(fds[1 - i].fd, buffer, n) != n) return;
    }
  }
}

TEST_F(TlsTest, HttpsThroughAConnectProxyTunnel) {
  std::vector<std::string> connects;
  uint16_t target_port = server_.port();
  LoopbackHttpServer proxy([&](Exchange& exchange) {
    connects.push_back(exchange.request().method + " " + exchange.request().target);
    int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(target_port);
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      exchange.Write("HTTP/1.1 200 Connection established\r\n\r\n");
      Pump(exchange.fd(), upstream);
    }
    ::close(upstream);
    exchange.CloseAfter();
  });
  auto client = Client(ca_file_, ProxySettings{"", absl::StrCat("127.0.0.1:", proxy.port()), ""});
  // backend.invalid cannot resolve: only the tunnel can reach the server.
  absl::StatusOr<HttpResponse> response = Get(*client, "backend.invalid");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "secure hello");
  ASSERT_EQ(connects.size(), 1u);
  EXPECT_EQ(connects[0], absl::StrCat("CONNECT backend.invalid:", target_port));
}

}  // namespace
}  // namespace llive::backends::http
