// Synthetic StateViews for bridge tests: tensors named and shaped like a small model's, filled
// with seeded random values, owned by the struct.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/stateful_backend.h"

namespace llive::bridge::testing {

// Per layer an "ssm" tensor [d_inner, d_state] and a "conv" tensor [d_inner, 3].
struct SyntheticState {
  SyntheticState(int layers, int d_inner, int d_state, uint64_t seed) {
    std::mt19937_64 random(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int layer = 0; layer < layers; ++layer) {
      for (const char* kind : {"ssm", "conv"}) {
        const int64_t cols = std::string(kind) == "ssm" ? d_state : 3;
        storage.emplace_back(static_cast<size_t>(d_inner * cols));
        for (float& value : storage.back()) value = normal(random);
        shapes.push_back({d_inner, cols});
        names.push_back(absl::StrCat("layers.", layer, ".", kind));
        kinds.push_back(kind);
        layer_of.push_back(layer);
      }
    }
  }

  // A view over the storage (valid while this object lives and is not resized).
  backends::StateView View() {
    backends::StateView view;
    for (size_t i = 0; i < storage.size(); ++i) {
      view.tensors.push_back({names[i], layer_of[i], kinds[i], shapes[i], storage[i].data()});
    }
    return view;
  }

  std::vector<std::vector<float>> storage;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<std::string> names;
  std::vector<std::string> kinds;
  std::vector<int> layer_of;
};

}  // namespace llive::bridge::testing
