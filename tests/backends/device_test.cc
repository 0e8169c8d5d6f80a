// Tests of device name parsing.
#include "backends/device.h"

#include <gtest/gtest.h>

namespace llive::backends {
namespace {

TEST(DeviceTest, ParsesTheThreeForms) {
  EXPECT_EQ(*ParseDevice("cpu"), (Device{Device::Kind::kCpu, 0}));
  EXPECT_EQ(*ParseDevice("cuda"), (Device{Device::Kind::kCuda, 0}));
  EXPECT_EQ(*ParseDevice("cuda:3"), (Device{Device::Kind::kCuda, 3}));
  EXPECT_EQ(ParseDevice("cuda:3")->ToString(), "cuda:3");
}

TEST(DeviceTest, RefusesOthers) {
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:x", "CPU", "", "cuda:1:2"}) {
    EXPECT_EQ(ParseDevice(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace llive::backends
