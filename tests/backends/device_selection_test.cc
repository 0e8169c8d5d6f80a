// Device selection and weight type names: the errors a user sees for each way "cuda" can fail.
#include "backends/native/cuda/device_selection.h"

#include <gtest/gtest.h>

#include "backends/native/cuda/cuda_runtime_check.h"
#include "backends/native/cuda/weight_dtype.h"

namespace llive::backends::cuda {
namespace {

TEST(DeviceSelectionTest, CpuAlwaysWorks) {
  absl::StatusOr<Device> device = SelectDevice("cpu");
  ASSERT_TRUE(device.ok()) << device.status();
  EXPECT_EQ(device->kind, Device::Kind::kCpu);
}

TEST(DeviceSelectionTest, BadSpellingNamesTheChoices) {
  absl::StatusOr<Device> device = SelectDevice("gpu0");
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(device.status().message().find("cuda:N"), std::string::npos);
}

TEST(DeviceSelectionTest, CudaFailsClearlyWhereItCannotRun) {
  if (!BuiltWithCuda()) {
    absl::StatusOr<Device> device = SelectDevice("cuda");
    ASSERT_FALSE(device.ok());
    EXPECT_EQ(device.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(device.status().message().find("-DLLIVE_CUDA=ON"), std::string::npos);
    EXPECT_EQ(BuiltCudaArchitectures(), "");
    return;
  }
  EXPECT_FALSE(BuiltCudaArchitectures().empty());
  absl::StatusOr<std::vector<GpuInfo>> gpus = ListGpus();
  if (!gpus.ok()) {
    absl::StatusOr<Device> device = SelectDevice("cuda:0");
    ASSERT_FALSE(device.ok());
    EXPECT_EQ(device.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(device.status().message().find("no usable GPU"), std::string::npos);
    return;
  }
  absl::StatusOr<Device> first = SelectDevice("cuda");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->index, 0);
  absl::StatusOr<Device> missing = SelectDevice("cuda:999");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("cuda:0 ("), std::string::npos)
      << missing.status().message();
}

TEST(WeightDtypeTest, ParsesAndNames) {
  EXPECT_EQ(*ParseWeightDtype("bf16"), WeightDtype::kBf16);
  EXPECT_EQ(*ParseWeightDtype("BFloat16"), WeightDtype::kBf16);
  EXPECT_EQ(*ParseWeightDtype("half"), WeightDtype::kFp16);
  EXPECT_EQ(*ParseWeightDtype("fp32"), WeightDtype::kFp32);
  EXPECT_EQ(WeightDtypeName(WeightDtype::kFp16), "fp16");
  EXPECT_EQ(WeightDtypeBytes(WeightDtype::kBf16), 2u);
  EXPECT_EQ(WeightDtypeBytes(WeightDtype::kFp32), 4u);
  absl::StatusOr<WeightDtype> bad = ParseWeightDtype("int8");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("int8"), std::string::npos);
}

}  // namespace
}  // namespace llive::backends::cuda
