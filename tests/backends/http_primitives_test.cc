// Tests of URL parsing, proxy selection and the retry policy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backends/http/proxy.h"
#include "backends/http/retry_policy.h"
#include "backends/http/url.h"

namespace llive::backends::http {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(UrlTest, ParsesWhatBackendsUse) {
  absl::StatusOr<Url> url = ParseUrl("HTTPS://user:pw@api.example.com:8443/v1/x?q=1#frag");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->userinfo, "user:pw");
  EXPECT_EQ(url->host, "api.example.com");
  EXPECT_EQ(url->port, 8443);
  EXPECT_EQ(url->target, "/v1/x?q=1");
  EXPECT_EQ(url->Redacted(), "https://api.example.com:8443/v1/x?q=1");
  EXPECT_EQ(ParseUrl("http://[::1]:11434")->host, "::1");
  EXPECT_EQ(ParseUrl("http://[::1]:11434")->Authority(), "[::1]:11434");
  EXPECT_EQ(ParseUrl("http://h")->port, 80);
  EXPECT_EQ(ParseUrl("https://h")->target, "/");
  for (const char* bad : {"ftp://h", "h:80", "http://", "http://h:0", "http://h:99999",
                          "http://h/a b", "http://h:x"}) {
    absl::StatusOr<Url> parsed = ParseUrl(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(JoinUrl("http://h/v1/", "/chat/completions"), "http://h/v1/chat/completions");
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
}

TEST(ProxyTest, ChoosesByScheme) {
  ProxySettings settings{"http://plain:3128", "proxy.corp:8080", ""};
  auto https = ProxyFor(settings, *ParseUrl("https://api.openai.com/v1"));
  ASSERT_TRUE(https.ok());
  ASSERT_TRUE(https->has_value());
  EXPECT_EQ((*https)->Authority(), "proxy.corp:8080");
  auto http = ProxyFor(settings, *ParseUrl("http://example.com"));
  EXPECT_EQ((*http)->Authority(), "plain:3128");
}

TEST(ProxyTest, NoProxyMatchesHostsDomainsPortsAndStar) {
  ProxySettings settings{"http://p:1", "http://p:1",
                         "localhost, .internal,example.com,10.1.2.3:8080"};
  auto direct = [&](const char* url) { return !ProxyFor(settings, *ParseUrl(url))->has_value(); };
  EXPECT_TRUE(direct("http://localhost:11434"));
  EXPECT_TRUE(direct("http://a.b.internal"));
  EXPECT_TRUE(direct("https://example.com"));
  EXPECT_TRUE(direct("https://api.example.com"));
  EXPECT_FALSE(direct("https://notexample.com"));
  EXPECT_TRUE(direct("http://10.1.2.3:8080"));
  EXPECT_FALSE(direct("http://10.1.2.3:8081"));
  settings.no_proxy = "*";
  EXPECT_TRUE(direct("https://anything.example"));
}

TEST(ProxyTest, BadProxyNamesTheVariableNotThePassword) {
  ProxySettings settings{"", "https://user:secret@p:1", ""};
  auto result = ProxyFor(settings, *ParseUrl("https://h"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("HTTPS_PROXY"));
  EXPECT_THAT(std::string(result.status().message()), ::testing::Not(HasSubstr("secret")));
}

TEST(RetryPolicyTest, RetryableStatuses) {
  for (int status : {408, 429, 500, 502, 503, 504, 529}) EXPECT_TRUE(IsRetryableStatus(status));
  for (int status : {200, 400, 401, 404, 501, 505}) EXPECT_FALSE(IsRetryableStatus(status));
}

TEST(RetryPolicyTest, BackoffGrowsWithJitterAndCap) {
  std::mt19937_64 rng(1);
  for (int retry = 0; retry < 12; ++retry) {
    for (int i = 0; i < 50; ++i) {
      milliseconds delay = BackoffDelay(retry, milliseconds(100), milliseconds(3000), rng);
      int64_t full = std::min<int64_t>(100LL << retry, 3000);
      EXPECT_GE(delay.count(), full / 2);
      EXPECT_LE(delay.count(), full);
    }
  }
}

TEST(RetryPolicyTest, RetryAfterSecondsAndDates) {
  auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00
  EXPECT_EQ(ParseRetryAfter("3", now), milliseconds(3000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", now), milliseconds(10000));
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now), milliseconds(0));
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("-1", now).has_value());
}

}  // namespace
}  // namespace llive::backends::http
