// The runtime's adapter from an embedding backend to the memory store's Embedder, against a
// real OpenAI-compatible server on loopback.
#include "runtime/backend_embedder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>

#include "backends/openai_embedding_backend.h"
#include "nlohmann/json.hpp"
#include "tests/backends/loopback_http_server.h"

namespace llive::runtime {
namespace {

using ::llive::testing::Exchange;
using ::llive::testing::LoopbackHttpServer;
using ::testing::HasSubstr;

backends::EmbeddingOptions Options(const LoopbackHttpServer& server) {
  backends::EmbeddingOptions options;
  options.base_url = server.url() + "/v1";
  options.api_key = "sk-test";
  options.model = "embed-test";
  options.http.read_timeout_ms = 2000;
  options.http.proxy = backends::http::ProxySettings{};
  return options;
}

// Answers every input with a vector whose size is `*dimension` and whose entries depend on the
// text, so that different texts get different directions.
::llive::testing::Handler Embeddings(const std::atomic<int>* dimension) {
  return [dimension](Exchange& exchange) {
    nlohmann::json request = nlohmann::json::parse(exchange.request().body);
    nlohmann::json data = nlohmann::json::array();
    for (size_t i = 0; i < request["input"].size(); ++i) {
      std::string text = request["input"][i].get<std::string>();
      std::vector<float> vector(dimension->load());
      for (size_t j = 0; j < vector.size(); ++j) {
        vector[j] = static_cast<float>((text[j % text.size()] % 7) + j);
      }
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", vector}});
    }
    exchange.Respond(200, "application/json", nlohmann::json({{"data", data}}).dump());
  };
}

TEST(BackendEmbedderTest, LearnsTheDimensionAndNormalises) {
  std::atomic<int> dimension = 5;
  LoopbackHttpServer server(Embeddings(&dimension));
  auto backend = backends::OpenAIEmbeddingBackend::Create(Options(server));
  ASSERT_TRUE(backend.ok()) << backend.status();
  absl::StatusOr<std::unique_ptr<BackendEmbedder>> embedder =
      BackendEmbedder::Create(*std::move(backend));
  ASSERT_TRUE(embedder.ok()) << embedder.status();
  EXPECT_EQ((*embedder)->dim(), 5);
  EXPECT_EQ((*embedder)->id(), "openai:embed-test");
  EXPECT_EQ((*embedder)->tag(), "openai:embed-test@1/5");
  absl::StatusOr<std::vector<float>> a = (*embedder)->Embed("alpha");
  absl::StatusOr<std::vector<float>> b = (*embedder)->Embed("日本語のテキスト");
  ASSERT_TRUE(a.ok() && b.ok());
  double norm = 0;
  for (float x : *a) norm += x * x;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_NE(*a, *b);
  EXPECT_EQ((*embedder)->Embed("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BackendEmbedderTest, ADimensionChangeIsAnErrorNotAMixedIndex) {
  std::atomic<int> dimension = 4;
  LoopbackHttpServer server(Embeddings(&dimension));
  auto embedder =
      BackendEmbedder::Create(*backends::OpenAIEmbeddingBackend::Create(Options(server)));
  ASSERT_TRUE(embedder.ok()) << embedder.status();
  dimension = 6;
  absl::StatusOr<std::vector<float>> vector = (*embedder)->Embed("text");
  ASSERT_FALSE(vector.ok());
  EXPECT_EQ(vector.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(vector.status().message(), HasSubstr("6 dimensions instead of 4"));
}

TEST(BackendEmbedderTest, AnUnreachableServerFailsCreation) {
  std::atomic<int> dimension = 4;
  std::string url;
  {
    LoopbackHttpServer server(Embeddings(&dimension));
    url = server.url();
  }
  backends::EmbeddingOptions options;
  options.base_url = url + "/v1";
  options.model = "embed-test";
  options.api_key = "sk-test";
  options.http.connect_timeout_ms = 500;
  options.http.read_timeout_ms = 500;
  options.http.max_retries = 0;
  options.http.proxy = backends::http::ProxySettings{};
  auto backend = backends::OpenAIEmbeddingBackend::Create(options);
  ASSERT_TRUE(backend.ok()) << backend.status();
  absl::StatusOr<std::unique_ptr<BackendEmbedder>> embedder =
      BackendEmbedder::Create(*std::move(backend));
  ASSERT_FALSE(embedder.ok());
  EXPECT_THAT(embedder.status().message(), ::testing::Not(HasSubstr("sk-test")));
}

}  // namespace
}  // namespace llive::runtime
