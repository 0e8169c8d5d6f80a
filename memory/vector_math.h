// Inner products of float vectors, vectorised for the CPU llive is built for (AVX2 + FMA on
// x86-64-v3). Debian's libfaiss is built for baseline x86-64, where faiss::fvec_inner_product
// is a scalar loop; the memory store's own loops use this instead.
#pragma once

#include <cstddef>

namespace llive::memory {

// sum_i a[i] * b[i].
float DotProduct(const float* a, const float* b, size_t n);

}  // namespace llive::memory
