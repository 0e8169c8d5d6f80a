// Generic code over the C++ element type a WeightDtype names.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backends/native/cuda/weight_dtype.h"

namespace llive::backends::cuda {

// Returns body(T{}) with T the C++ type of `dtype` (__nv_bfloat16, __half or float), and
// unknown() for a value outside the enum.
template <typename Body, typename Unknown>
auto VisitWeightDtype(WeightDtype dtype, Body body, Unknown unknown) -> decltype(unknown()) {
  switch (dtype) {
    case WeightDtype::kBf16:
      return body(__nv_bfloat16{});
    case WeightDtype::kFp16:
      return body(__half{});
    case WeightDtype::kFp32:
      return body(float{});
  }
  return unknown();
}

}  // namespace llive::backends::cuda
