// End-to-end tests of `llive generate`: default backend with and without a home, a
// real Ollama-style server on loopback, usage errors, the cloud opt-in, and API keys
// kept out of output and logs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/backends/loopback_http_server.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive {
namespace {

using ::llive::testing::Exchange;
using ::llive::testing::LoopbackHttpServer;
using ::llive::testing::ProcessResult;
using ::llive::testing::RunProcess;
using ::llive::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// The child sees this process's environment first: clear what would override the
// tests' own settings.
ProcessResult Llive(std::vector<std::string> args, std::vector<std::string> env = {}) {
  for (const char* name : {"LLIVE_LOG_LEVEL", "LLIVE_LLM_BACKEND", "LLIVE_HOME", "OLLAMA_HOST",
                           "OPENAI_BASE_URL", "OPENAI_API_KEY", "HTTP_PROXY", "http_proxy"}) {
    unsetenv(name);
  }
  args.insert(args.begin(), LLIVE_BINARY);
  env.push_back("LLIVE_LOG_LEVEL=warn");
  return RunProcess(args, env);
}

// With nothing configured, generation runs the small Mamba the project ships.
TEST(GenerateCommandTest, ShippedModelWithoutAHome) {
  TempDir dir;
  ProcessResult result = Llive(
      {"generate", "--prompt", "The package", "--max-tokens", "8", "--temperature", "0", "--json"},
      {"LLIVE_HOME=" + dir.File("none"), "OMP_NUM_THREADS=1"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  nlohmann::json out = nlohmann::json::parse(result.out);
  EXPECT_THAT(out["backend"].get<std::string>(), HasSubstr("mamba:"));
  EXPECT_THAT(out["backend"].get<std::string>(), HasSubstr("backends/models/llive-mamba-small"));
  EXPECT_GT(out["usage"]["completion_tokens"].get<int>(), 0);
  EXPECT_FALSE(out["text"].get<std::string>().empty());
  // A model named but not there says where it looked.
  ProcessResult missing =
      Llive({"generate", "--backend", "mamba:no-such-model", "--prompt", "x"},
            {"LLIVE_HOME=" + dir.File("none"), "LLIVE_MODELS_PATH=" + dir.path().string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no model named no-such-model"));
  EXPECT_THAT(missing.err, HasSubstr(dir.path().string()));
}

TEST(GenerateCommandTest, MockWithoutAHome) {
  TempDir dir;
  ProcessResult result =
      Llive({"generate", "--backend", "mock", "--prompt", "hello world", "--json"},
            {"LLIVE_HOME=" + dir.File("none")});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  nlohmann::json out = nlohmann::json::parse(result.out);
  EXPECT_EQ(out["text"], "mock reply to: hello world");
  EXPECT_EQ(out["finish_reason"], "stop");
  EXPECT_EQ(out["backend"], "mock");
  ProcessResult cut =
      Llive({"generate", "--backend", "mock", "--prompt", "a b c", "--max-tokens", "2", "--stream"},
            {"LLIVE_HOME=" + dir.File("none")});
  EXPECT_EQ(cut.exit_code, 0) << cut.err;
  EXPECT_EQ(cut.out, "mock reply\n");
  EXPECT_THAT(cut.err, HasSubstr("generation ended: length"));
}

TEST(GenerateCommandTest, HomeBackendTalksToOllamaOnLoopback) {
  nlohmann::json seen;
  LoopbackHttpServer server([&](Exchange& exchange) {
    seen = nlohmann::json::parse(exchange.request().body);
    exchange.StartChunked(200, "application/x-ndjson");
    exchange.WriteChunk(R"({"response":"Hel","done":false})"
                        "\n"
                        R"({"response":"lo","done":false})"
                        "\n");
    exchange.WriteChunk(R"({"response":"","done":true,"done_reason":"stop","eval_count":2})"
                        "\n");
    exchange.EndChunked();
  });
  TempDir dir;
  std::string home = dir.File("home");
  ASSERT_EQ(Llive({"init", home}).exit_code, 0);
  std::ofstream(home + "/llive.json") << R"({"backend": {"llm": "ollama", "model": "tiny"}})";
  std::vector<std::string> env = {absl::StrCat("OLLAMA_HOST=127.0.0.1:", server.port())};
  ProcessResult result = Llive({"--home", home, "generate", "--prompt", "Say hello", "--stream",
                                "--temperature", "0", "--top-k", "5", "--seed", "3"},
                               env);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "Hello\n");
  EXPECT_EQ(seen["model"], "tiny");
  EXPECT_EQ(seen["prompt"], "Say hello");
  EXPECT_EQ(seen["options"]["top_k"], 5);
  EXPECT_EQ(seen["options"]["seed"], 3);
  // --backend wins over the home's choice.
  ProcessResult mock =
      Llive({"--home", home, "generate", "--backend", "mock", "--prompt", "x"}, env);
  EXPECT_EQ(mock.out, "mock reply to: x\n");
}

TEST(GenerateCommandTest, UsageAndPolicyErrors) {
  TempDir dir;
  std::vector<std::string> env = {"LLIVE_HOME=" + dir.File("none")};
  ProcessResult unknown = Llive({"generate", "--backend", "gpt", "--prompt", "x"}, env);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("mock|openai|anthropic|ollama|mamba:PATH|rwkv7:PATH"));
  EXPECT_EQ(Llive({"generate"}, env).exit_code, 2);  // --prompt is required
  ProcessResult native = Llive({"generate", "--backend", "mamba:/m", "--prompt", "x"}, env);
  EXPECT_EQ(native.exit_code, 1);
  EXPECT_THAT(native.err, HasSubstr("no model at /m"));
  // Out-of-range numbers name the option, the bound and the value; a prompt that is not UTF-8
  // is refused before the model runs. All usage errors (exit 2).
  const std::vector<std::pair<std::vector<std::string>, std::string>> usage_errors = {
      {{"--backend", "mock", "--prompt", "x", "--max-tokens", "-3"},
       "--max-tokens: must be at least 1, not -3"},
      {{"--backend", "mock", "--prompt", "x", "--temperature", "2.5"},
       "--temperature: must be from 0 to 2, not 2.5"},
      {{"--backend", "mock", "--prompt", "x", "--top-k", "many"}, "'many' is not a number"},
      {{"--prompt", "caf\xE9"}, "the prompt is not valid UTF-8: byte 0xe9 at offset 3"},
  };
  for (const auto& [flags, message] : usage_errors) {
    std::vector<std::string> args = {"generate"};
    args.insert(args.end(), flags.begin(), flags.end());
    ProcessResult result = Llive(args, env);
    EXPECT_EQ(result.exit_code, 2) << message;
    EXPECT_THAT(result.err, HasSubstr(message));
  }
  ProcessResult missing_home = Llive({"--home", dir.File("nohome"), "generate", "--prompt", "x"});
  EXPECT_EQ(missing_home.exit_code, 1);
  EXPECT_THAT(missing_home.err, HasSubstr("llive init"));
  if (std::getenv("LLIVE_ALLOW_CLOUD_BACKEND") != nullptr) {
    GTEST_SKIP() << "LLIVE_ALLOW_CLOUD_BACKEND is set in this environment";
  }
  ProcessResult cloud = Llive({"generate", "--backend", "anthropic", "--prompt", "x"}, env);
  EXPECT_EQ(cloud.exit_code, 1);
  EXPECT_THAT(cloud.err, HasSubstr("LLIVE_ALLOW_CLOUD_BACKEND=1"));
}

TEST(GenerateCommandTest, ApiKeyNeverInOutputOrDebugLogs) {
  constexpr char kKey[] = "sk-cli-secret-777";
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.Respond(exchange.request().index == 0 ? 503 : 401, "application/json",
                     absl::StrCat(R"({"error":{"message":"bad key )",
                                  exchange.request().Header("Authorization"), R"("}})"),
                     {{"Retry-After", "0"}});
  });
  TempDir dir;
  ProcessResult result = Llive(
      {"generate", "--backend", "openai", "--prompt", "x", "--json"},
      {"LLIVE_HOME=" + dir.File("none"), absl::StrCat("OPENAI_BASE_URL=", server.url(), "/v1"),
       absl::StrCat("OPENAI_API_KEY=", kKey), "LLIVE_LOG_LEVEL=debug"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("HTTP 401"));
  EXPECT_THAT(result.err, HasSubstr("retry 1"));  // the debug log of the 503 retry
  EXPECT_THAT(result.err + result.out, Not(HasSubstr(kKey)));
  EXPECT_EQ(server.requests(), 2);
}

}  // namespace
}  // namespace llive
