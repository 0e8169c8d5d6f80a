// Which numbers of a model's recurrent state the bridge reads and writes: the feature
// selection (layers, tensor kinds, a cap on the count) and the map between a StateView and a
// feature vector.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/stateful_backend.h"

namespace llive::bridge {

// What to read from a state. The default is the recurrent state proper of every layer (the
// SSM state of Mamba, the WKV state of RWKV-7; not the short conv/shift buffers, which only
// hold the last token or two), thinned to at most 16,384 numbers by a fixed stride.
struct FeatureSpec {
  std::vector<int> layers;                          // empty: every layer
  std::vector<std::string> kinds = {"ssm", "wkv"};  // StateTensor::kind values to read
  int64_t max_features = 16384;                     // cap; >= 1
};

// One run of selected elements inside one state tensor: elements begin, begin + step, ...
// (count of them), as flat row-major offsets.
struct FeatureSegment {
  std::string tensor;  // StateTensor::name
  int64_t begin = 0;
  int64_t step = 1;
  int64_t count = 0;
};

// The resolved selection for one model: the feature vector is the concatenation of the
// segments' elements in order. Resolved once from a StateView, stored with bridge parameters,
// and checked against every later view (same model, same layout).
struct FeatureLayout {
  std::vector<FeatureSegment> segments;
  int64_t size() const;
};

// Resolves `spec` against the tensors of `view`. The selected tensors are taken in view order
// and thinned as one sequence: every k-th element with k = ceil(total / max_features).
// InvalidArgument when nothing matches (naming the layers and kinds asked for and those the
// view has) or max_features < 1.
absl::StatusOr<FeatureLayout> ResolveFeatureLayout(const FeatureSpec& spec,
                                                   const backends::StateView& view);

// Copies the selected elements of `view` into `features` (resized to layout.size()).
// FailedPrecondition when a segment's tensor is missing from the view or too small (the view
// is of another model than the layout).
absl::Status ExtractFeatures(const FeatureLayout& layout, const backends::StateView& view,
                             std::vector<double>& features);

// Adds `delta` (layout.size() values, raw state units) to the selected elements of `view`.
// Same errors as ExtractFeatures; on error nothing was written.
absl::Status AddToFeatures(const FeatureLayout& layout, absl::Span<const double> delta,
                           const backends::StateView& view);

}  // namespace llive::bridge
