// A Mamba state saved in one process and restored in another continues exactly as the
// uninterrupted run does: the parent test feeds a prompt, saves the state to a file and starts
// this test binary again as a child, which restores the file, feeds the rest and writes its
// logits; they must equal the parent's straight-through logits bit for bit.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "backends/native/mamba_backend.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

const std::string kFixture = std::string(LLIVE_SOURCE_DIR) + "/tests/fixtures/mamba";
constexpr char kStateInVariable[] = "LLIVE_TEST_MAMBA_STATE_IN";
constexpr char kLogitsOutVariable[] = "LLIVE_TEST_MAMBA_LOGITS_OUT";

std::vector<int32_t> FirstPart() {
  std::vector<int32_t> tokens;
  for (int i = 0; i < 150; ++i) tokens.push_back((i * 37 + 11) % 512);
  return tokens;
}
std::vector<int32_t> SecondPart() {
  std::vector<int32_t> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back((i * 101 + 3) % 512);
  return tokens;
}

std::string ReadFile(const std::string& path) {
  std::stringstream buffer;
  buffer << std::ifstream(path, std::ios::binary).rdbuf();
  return buffer.str();
}

TEST(MambaStateProcessTest, StateRestoredInAnotherProcessContinuesIdentically) {
  auto backend = MambaBackend::Open(kFixture);
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto state = *(*backend)->NewState();
  ASSERT_TRUE((*backend)->Feed(*state, FirstPart()).ok());
  auto bytes = (*backend)->SerializeState(*state);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto straight = (*backend)->Feed(*state, SecondPart());
  ASSERT_TRUE(straight.ok());

  testing::TempDir dir;
  std::ofstream(dir.File("state.bin"), std::ios::binary) << *bytes;
  testing::ProcessResult child = testing::RunProcess(
      {"/proc/self/exe", "--gtest_filter=MambaStateProcessTest.ChildRestoresAndContinues"},
      {absl::StrCat(kStateInVariable, "=", dir.File("state.bin")),
       absl::StrCat(kLogitsOutVariable, "=", dir.File("logits.bin"))});
  ASSERT_EQ(child.exit_code, 0) << child.out << child.err;
  const std::string logits = ReadFile(dir.File("logits.bin"));
  ASSERT_EQ(logits.size(), straight->size() * sizeof(float)) << child.out;
  EXPECT_EQ(std::memcmp(logits.data(), straight->data(), logits.size()), 0)
      << "the restored state's logits differ from the uninterrupted run's";
}

TEST(MambaStateProcessTest, ChildRestoresAndContinues) {
  const char* state_in = std::getenv(kStateInVariable);
  const char* logits_out = std::getenv(kLogitsOutVariable);
  if (state_in == nullptr || logits_out == nullptr) {
    GTEST_SKIP() << "runs only as the child process of "
                    "StateRestoredInAnotherProcessContinuesIdentically";
  }
  auto backend = MambaBackend::Open(kFixture);
  ASSERT_TRUE(backend.ok()) << backend.status();
  auto restored = (*backend)->DeserializeState(ReadFile(state_in));
  ASSERT_TRUE(restored.ok()) << restored.status();
  ASSERT_EQ((*restored)->position(), 150);
  auto logits = (*backend)->Feed(**restored, SecondPart());
  ASSERT_TRUE(logits.ok());
  std::ofstream(logits_out, std::ios::binary)
      .write(reinterpret_cast<const char*>(logits->data()), logits->size() * sizeof(float));
}

}  // namespace
}  // namespace llive::backends::native
