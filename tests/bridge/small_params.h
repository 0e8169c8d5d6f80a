// A small, valid BridgeParams (six features, ten probes, two personas) for the tests of the
// byte format and of the parameter-layer storage.
#pragma once

#include "bridge/bridge_params.h"

namespace llive::bridge {

inline BridgeParams SmallParams() {
  BridgeParams params;
  params.architecture = "mamba";
  params.model_fingerprint = "abc123";
  params.spec.layers = {0, 2};
  params.spec.max_features = 6;
  params.layout.segments = {{"layers.0.ssm", 0, 2, 3}, {"layers.2.ssm", 1, 2, 3}};
  params.standardizer.mean = {0.1, -0.2, 0.3, 0.0, 1.5, -1.0};
  params.standardizer.scale = {1.0, 2.0, 0.5, 1.0, 3.0, 0.25};
  for (int f = 0; f < kFactorCount; ++f) {
    FactorProbe probe;
    probe.method = f == 4 ? ProbeMethod::kDifferenceOfMeans : ProbeMethod::kRidge;
    probe.lambda = f == 4 ? 0.0 : 0.1 * f;
    for (int j = 0; j < 6; ++j) probe.weights.push_back(0.01 * (f + 1) * (j - 2.5));
    probe.bias = -0.3 * f;
    params.probes.push_back(probe);
  }
  params.personas["careful"] = {0.8f, 0.2f, 0.9f, 0.5f, 0.7f, 0.1f, 0.9f, 0.8f, 0.6f, 0.9f};
  params.personas["explorer"] = {0.3f, 0.9f, 0.2f, 0.6f, 0.4f, 0.95f, 0.2f, 0.3f, 0.7f, 0.3f};
  return params;
}

}  // namespace llive::bridge
