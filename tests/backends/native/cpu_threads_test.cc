#include "backends/native/cpu_threads.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace llive::backends::native {
namespace {

// Saves OMP_NUM_THREADS and the thread count, and puts both back.
class CpuThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* value = std::getenv("OMP_NUM_THREADS")) saved_env_ = value;
    saved_threads_ = omp_get_max_threads();
    unsetenv("OMP_NUM_THREADS");
  }
  void TearDown() override {
    if (saved_env_) setenv("OMP_NUM_THREADS", saved_env_->c_str(), 1);
    omp_set_num_threads(saved_threads_);
  }
  std::optional<std::string> saved_env_;
  int saved_threads_ = 1;
};

TEST_F(CpuThreadsTest, ARequestedCountWins) {
  ChooseCpuThreads(3, kSmallModelParameters - 1);
  EXPECT_EQ(omp_get_max_threads(), 3);
  ChooseCpuThreads(2, kSmallModelParameters * 10);
  EXPECT_EQ(omp_get_max_threads(), 2);
}

TEST_F(CpuThreadsTest, SmallModelsRunOnOneThread) {
  omp_set_num_threads(4);
  ChooseCpuThreads(0, 6'000'000);
  EXPECT_EQ(omp_get_max_threads(), 1);
}

TEST_F(CpuThreadsTest, LargeModelsKeepTheDefault) {
  omp_set_num_threads(4);
  ChooseCpuThreads(0, kSmallModelParameters);
  EXPECT_EQ(omp_get_max_threads(), 4);
}

TEST_F(CpuThreadsTest, AnExplicitEnvironmentIsRespected) {
  omp_set_num_threads(4);
  setenv("OMP_NUM_THREADS", "4", 1);
  ChooseCpuThreads(0, 6'000'000);
  EXPECT_EQ(omp_get_max_threads(), 4);
}

}  // namespace
}  // namespace llive::backends::native
