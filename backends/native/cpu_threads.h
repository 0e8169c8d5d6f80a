// How many OpenMP threads a native model's CPU path uses when the user did not say.
#pragma once

#include <cstdint>

namespace llive::backends::native {

// Below this many weights a model's parallel regions are shorter than the time a second
// thread may wait for a core on a busy machine (measured on the 2-core VM at load 6: the
// shipped 6M-parameter model generated 32 tokens in 0.2 s on one thread and 4.8 s on two),
// while on an idle machine two threads gain nothing at that size.
inline constexpr int64_t kSmallModelParameters = 32'000'000;

// Sets the calling thread's OpenMP thread count (which OpenBLAS follows too): `requested`
// when positive; one for a model of fewer than kSmallModelParameters weights unless
// OMP_NUM_THREADS is set; otherwise it leaves OpenMP's default (every core, or OMP_NUM_THREADS).
// The setting is OpenMP's per-thread one: it applies to model calls made from the calling thread.
void ChooseCpuThreads(int requested, int64_t parameters);

}  // namespace llive::backends::native
