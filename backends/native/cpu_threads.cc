#include "backends/native/cpu_threads.h"

#include <omp.h>

#include <cstdlib>

namespace llive::backends::native {

void ChooseCpuThreads(int requested, int64_t parameters) {
  if (requested > 0) {
    omp_set_num_threads(requested);
  } else if (parameters < kSmallModelParameters && std::getenv("OMP_NUM_THREADS") == nullptr) {
    omp_set_num_threads(1);
  }
}

}  // namespace llive::backends::native
