// Tests of the OpenAI and Ollama embedding backends: batching, order, dimension checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "backends/ollama_embedding_backend.h"
#include "backends/openai_embedding_backend.h"
#include "nlohmann/json.hpp"
#include "tests/backends/loopback_http_server.h"

namespace llive::backends {
namespace {

using ::llive::testing::Exchange;
using ::llive::testing::LoopbackHttpServer;
using ::testing::HasSubstr;

// A deterministic vector for a text: its length and first byte.
std::vector<float> VectorOf(const std::string& text) {
  return {static_cast<float>(text.size()), static_cast<float>(text.empty() ? 0 : text[0])};
}

EmbeddingOptions Options(const LoopbackHttpServer& server, const std::string& base) {
  EmbeddingOptions options;
  options.base_url = base;
  options.api_key = "sk-embed";
  options.model = "embed-test";
  options.batch_size = 2;
  options.http.read_timeout_ms = 300;
  options.http.proxy = http::ProxySettings{};
  return options;
}

std::vector<std::string> Texts() { return {"a", "bb", "ccc", "dddd", "eeeee"}; }

TEST(EmbeddingBackendTest, OpenAIBatchesAndReordersByIndex) {
  std::vector<size_t> batch_sizes;
  LoopbackHttpServer server([&](Exchange& exchange) {
    nlohmann::json request = nlohmann::json::parse(exchange.request().body);
    EXPECT_EQ(exchange.request().target, "/v1/embeddings");
    EXPECT_EQ(request["model"], "embed-test");
    batch_sizes.push_back(request["input"].size());
    nlohmann::json data = nlohmann::json::array();
    // Answer in reverse order: the index, not the position, decides.
    for (int i = static_cast<int>(request["input"].size()) - 1; i >= 0; --i) {
      data.push_back({{"object", "embedding"},
                      {"index", i},
                      {"embedding", VectorOf(request["input"][i].get<std::string>())}});
    }
    exchange.Respond(200, "application/json", nlohmann::json({{"data", data}}).dump());
  });
  auto backend = OpenAIEmbeddingBackend::Create(Options(server, server.url() + "/v1"));
  ASSERT_TRUE(backend.ok()) << backend.status();
  absl::StatusOr<std::vector<std::vector<float>>> vectors = (*backend)->Embed(Texts());
  ASSERT_TRUE(vectors.ok()) << vectors.status();
  ASSERT_EQ(vectors->size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ((*vectors)[i], VectorOf(Texts()[i]));
  EXPECT_EQ(batch_sizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_TRUE((*backend)->Embed({}).value().empty());
}

TEST(EmbeddingBackendTest, OllamaBatches) {
  LoopbackHttpServer server([&](Exchange& exchange) {
    nlohmann::json request = nlohmann::json::parse(exchange.request().body);
    EXPECT_EQ(exchange.request().target, "/api/embed");
    nlohmann::json embeddings = nlohmann::json::array();
    for (const auto& text : request["input"])
      embeddings.push_back(VectorOf(text.get<std::string>()));
    exchange.Respond(200, "application/json",
                     nlohmann::json({{"model", "embed-test"}, {"embeddings", embeddings}}).dump());
  });
  auto backend = OllamaEmbeddingBackend::Create(Options(server, server.url()));
  ASSERT_TRUE(backend.ok()) << backend.status();
  absl::StatusOr<std::vector<std::vector<float>>> vectors = (*backend)->Embed(Texts());
  ASSERT_TRUE(vectors.ok()) << vectors.status();
  EXPECT_EQ((*vectors)[4], VectorOf("eeeee"));
  EXPECT_EQ(server.requests(), 3);
}

TEST(EmbeddingBackendTest, MismatchedAnswersAreErrors) {
  LoopbackHttpServer server([&](Exchange& exchange) {
    if (exchange.request().index == 0) {
      exchange.Respond(200, "application/json", R"({"embeddings":[[1,2],[1,2,3]]})");
    } else if (exchange.request().index == 1) {
      exchange.Respond(200, "application/json", R"({"embeddings":[[1,2]]})");
    } else {
      exchange.Respond(400, "application/json", R"({"error":"input too long"})");
    }
  });
  auto backend = OllamaEmbeddingBackend::Create(Options(server, server.url()));
  ASSERT_TRUE(backend.ok());
  std::vector<std::string> two = {"x", "y"};
  EXPECT_THAT((*backend)->Embed(two).status().message(), HasSubstr("different dimensions"));
  EXPECT_THAT((*backend)->Embed(two).status().message(), HasSubstr("asked for 2 embeddings"));
  absl::Status bad = (*backend)->Embed(two).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("input too long"));
}

}  // namespace
}  // namespace llive::backends
