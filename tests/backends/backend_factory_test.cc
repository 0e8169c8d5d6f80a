// Tests of backend resolution: precedence, environment, the cloud opt-in, native
// factories, and keys kept out of messages.
#include "backends/backend_factory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "backends/mock_backend.h"
#include "backends/model_locator.h"
#include "backends/native_backend_registry.h"

namespace llive::backends {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Sets environment variables for one test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (auto [name, value] : values) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value == nullptr) {
        unsetenv(name);
      } else {
        setenv(name, value, 1);
      }
    }
  }
  ~ScopedEnv() {
    for (auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(BackendFactoryTest, PrecedenceExplicitThenEnvironmentThenConfigThenShippedModel) {
  ScopedEnv env({{"LLIVE_LLM_BACKEND", nullptr}});
  EXPECT_EQ(ResolveBackendSpec("", "")->kind, BackendSpec::Kind::kMamba);
  EXPECT_EQ(ResolveBackendSpec("", "")->model_path, kDefaultModelName);
  EXPECT_EQ(ResolveBackendSpec("", "ollama")->kind, BackendSpec::Kind::kOllama);
  {
    ScopedEnv chosen({{"LLIVE_LLM_BACKEND", "anthropic"}});
    EXPECT_EQ(ResolveBackendSpec("", "ollama")->kind, BackendSpec::Kind::kAnthropic);
    EXPECT_EQ(ResolveBackendSpec("openai", "ollama")->kind, BackendSpec::Kind::kOpenAI);
  }
  {
    ScopedEnv bad({{"LLIVE_LLM_BACKEND", "gpt5"}});
    absl::Status status = ResolveBackendSpec("", "").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("LLIVE_LLM_BACKEND"));
    EXPECT_THAT(status.message(), HasSubstr("mock|openai|anthropic|ollama|mamba:PATH|rwkv7:PATH"));
  }
}

TEST(ModelLocatorTest, PathsAsGivenNamesThroughTheFoldersInOrder) {
  const std::string root = ::testing::TempDir() + "/model_locator";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root + "/first/shared");
  std::filesystem::create_directories(root + "/second/shared");
  std::filesystem::create_directories(root + "/second/only-second");
  const std::vector<std::string> dirs = {root + "/first", root + "/second"};
  EXPECT_EQ(*LocateModel("shared", dirs), root + "/first/shared");
  EXPECT_EQ(*LocateModel("only-second", dirs), root + "/second/only-second");
  EXPECT_EQ(*LocateModel(root + "/second/shared", {}), root + "/second/shared");
  absl::StatusOr<std::string> missing = LocateModel("absent", dirs);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(root + "/first, " + root + "/second"));
  EXPECT_EQ(*LocateModel(root + "/nope/model", dirs),
            root + "/nope/model");  // the loader's to check
  EXPECT_EQ(LocateModel("", dirs).status().code(), absl::StatusCode::kInvalidArgument);
  {
    ScopedEnv env({{"LLIVE_MODELS_PATH", (root + "/second:" + root + "/first").c_str()}});
    std::vector<std::string> shipped = ShippedModelDirs();
    ASSERT_GE(shipped.size(), 3u);
    EXPECT_EQ(shipped[0], root + "/second");
    EXPECT_EQ(*LocateModel("shared", shipped), root + "/second/shared");
    EXPECT_TRUE(std::filesystem::exists(shipped.back() + "/" + kDefaultModelName));
  }
  std::filesystem::remove_all(root);
}

TEST(BackendFactoryTest, CloudBackendsNeedTheOptIn) {
  ScopedEnv env({{"LLIVE_ALLOW_CLOUD_BACKEND", nullptr},
                 {"OPENAI_BASE_URL", nullptr},
                 {"ANTHROPIC_BASE_URL", nullptr},
                 {"OPENAI_API_KEY", "sk-live-should-not-leak"},
                 {"ANTHROPIC_API_KEY", "sk-ant-should-not-leak"}});
  for (const char* name : {"openai", "anthropic"}) {
    BackendConfig config;
    config.llm = name;
    absl::Status status = CreateLLMBackend(config).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << name;
    EXPECT_THAT(status.message(), HasSubstr("LLIVE_ALLOW_CLOUD_BACKEND=1"));
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr("should-not-leak")));
  }
  {
    ScopedEnv allowed({{"LLIVE_ALLOW_CLOUD_BACKEND", "1"}});
    BackendConfig config;
    config.llm = "anthropic";
    EXPECT_TRUE(CreateLLMBackend(config).ok());
  }
  {
    // A local OpenAI-compatible server is not a cloud service.
    ScopedEnv local({{"OPENAI_BASE_URL", "http://127.0.0.1:8080/v1"}});
    BackendConfig config;
    config.llm = "openai";
    EXPECT_TRUE(CreateLLMBackend(config).ok());
  }
  BackendConfig embed;
  EXPECT_EQ(CreateEmbeddingBackend("openai", embed).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CreateEmbeddingBackend("ollama", embed).ok());
  EXPECT_THAT(CreateEmbeddingBackend("bert", embed).status().message(), HasSubstr("openai|ollama"));
}

TEST(BackendFactoryTest, AnthropicWithoutKeyIsFailedPrecondition) {
  ScopedEnv env({{"LLIVE_ALLOW_CLOUD_BACKEND", "1"}, {"ANTHROPIC_API_KEY", nullptr}});
  BackendConfig config;
  config.llm = "anthropic";
  absl::Status status = CreateLLMBackend(config).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("ANTHROPIC_API_KEY"));
}

// A stand-in native model: only Generate matters here.
class FakeNative : public StatefulBackend {
 public:
  explicit FakeNative(std::string path) : path_(std::move(path)) {}
  absl::StatusOr<GenerateResponse> Generate(const GenerateRequest& request,
                                            const StreamCallback& on_text) override {
    GenerateResponse response;
    response.text = "native " + path_;
    return response;
  }
  std::string Name() const override { return "mamba:" + path_; }
  const ModelInfo& Info() const override { return info_; }
  absl::StatusOr<std::unique_ptr<ModelState>> NewState() override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<std::vector<float>> Feed(ModelState&, absl::Span<const int32_t>) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<std::vector<std::vector<float>>> StepBatch(absl::Span<ModelState* const>,
                                                            absl::Span<const int32_t>) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<StateView> View(ModelState&) override { return absl::UnimplementedError("fake"); }
  absl::StatusOr<std::string> SerializeState(const ModelState&) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<std::unique_ptr<ModelState>> DeserializeState(absl::string_view) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<std::vector<int32_t>> Tokenize(absl::string_view) const override {
    return absl::UnimplementedError("fake");
  }
  std::string Detokenize(absl::Span<const int32_t>) const override { return ""; }

 private:
  std::string path_;
  ModelInfo info_;
};

TEST(BackendFactoryTest, NativeBackendsGoThroughTheRegistry) {
  ScopedEnv env({{"LLIVE_LLM_BACKEND", nullptr}});
  BackendConfig config;
  config.llm = "rwkv7:/models/r.gguf";
  absl::Status missing = CreateLLMBackend(config).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.message(), HasSubstr("this build has no native rwkv7 backend"));
  std::string seen_device, seen_weights;
  RegisterNativeBackendFactory(
      BackendSpec::Kind::kRwkv7,
      [&](const std::string& path,
          const NativeBackendOptions& options) -> absl::StatusOr<std::unique_ptr<StatefulBackend>> {
        seen_device = options.device;
        seen_weights = options.gpu_weights;
        return std::make_unique<FakeNative>(path);
      });
  config.device = "cuda:1";
  config.gpu_weights = "fp16";
  absl::StatusOr<std::unique_ptr<LLMBackend>> backend = CreateLLMBackend(config);
  ASSERT_TRUE(backend.ok()) << backend.status();
  GenerateRequest request;
  request.prompt = "x";
  EXPECT_EQ((*backend)->Generate(request)->text, "native /models/r.gguf");
  EXPECT_EQ(seen_device, "cuda:1");
  EXPECT_EQ(seen_weights, "fp16");
  config.llm = "mamba:/m";
  EXPECT_THAT(CreateLLMBackend(config).status().message(), HasSubstr("no native mamba backend"));
}

// Defined after NativeBackendsGoThroughTheRegistry, which needs no mamba factory registered
// when the whole binary runs in one process.
TEST(BackendFactoryTest, ShippedMambaByDefaultFoundWithoutConfiguration) {
  ScopedEnv env({{"LLIVE_LLM_BACKEND", nullptr}, {"LLIVE_MODELS_PATH", nullptr}});
  std::string seen_path;
  RegisterNativeBackendFactory(
      BackendSpec::Kind::kMamba,
      [&](const std::string& path,
          const NativeBackendOptions&) -> absl::StatusOr<std::unique_ptr<StatefulBackend>> {
        seen_path = path;
        return std::make_unique<FakeNative>(path);
      });
  ASSERT_TRUE(CreateLLMBackend({}).ok());
  EXPECT_THAT(seen_path, HasSubstr("backends/models/llive-mamba-small"));
  EXPECT_TRUE(std::filesystem::exists(seen_path + "/config.json")) << seen_path;
  BackendConfig mock;
  mock.llm = "mock";
  EXPECT_EQ((*CreateLLMBackend(mock))->Name(), "mock");
}

}  // namespace
}  // namespace llive::backends
