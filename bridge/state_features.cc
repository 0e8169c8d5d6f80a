// Feature selection over a StateView: resolution of a FeatureSpec, reading and writing.
#include "bridge/state_features.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace llive::bridge {
namespace {

int64_t ElementCount(const backends::StateTensor& tensor) {
  int64_t count = 1;
  for (int64_t dimension : tensor.shape) count *= dimension;
  return count;
}

const backends::StateTensor* FindTensor(const backends::StateView& view, const std::string& name) {
  for (const backends::StateTensor& tensor : view.tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

// Checks every segment against `view` and returns the tensors, in segment order.
absl::StatusOr<std::vector<const backends::StateTensor*>> MatchSegments(
    const FeatureLayout& layout, const backends::StateView& view) {
  std::vector<const backends::StateTensor*> tensors;
  for (const FeatureSegment& segment : layout.segments) {
    const backends::StateTensor* tensor = FindTensor(view, segment.tensor);
    if (tensor == nullptr || tensor->data == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("the state has no tensor \"", segment.tensor,
                       "\" that the bridge parameters read; they were fitted on another model"));
    }
    const int64_t last = segment.begin + (segment.count - 1) * segment.step;
    if (segment.count > 0 && last >= ElementCount(*tensor)) {
      return absl::FailedPreconditionError(
          absl::StrCat("state tensor \"", segment.tensor, "\" has ", ElementCount(*tensor),
                       " elements but the bridge parameters read element ", last,
                       "; they were fitted on another model"));
    }
    tensors.push_back(tensor);
  }
  return tensors;
}

}  // namespace

int64_t FeatureLayout::size() const {
  int64_t total = 0;
  for (const FeatureSegment& segment : segments) total += segment.count;
  return total;
}

absl::StatusOr<FeatureLayout> ResolveFeatureLayout(const FeatureSpec& spec,
                                                   const backends::StateView& view) {
  if (spec.max_features < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_features must be at least 1, got ", spec.max_features));
  }
  std::vector<const backends::StateTensor*> selected;
  for (const backends::StateTensor& tensor : view.tensors) {
    const bool layer_ok = spec.layers.empty() || std::find(spec.layers.begin(), spec.layers.end(),
                                                           tensor.layer) != spec.layers.end();
    const bool kind_ok =
        std::find(spec.kinds.begin(), spec.kinds.end(), tensor.kind) != spec.kinds.end();
    if (layer_ok && kind_ok && ElementCount(tensor) > 0) selected.push_back(&tensor);
  }
  if (selected.empty()) {
    std::vector<std::string> available;
    for (const backends::StateTensor& tensor : view.tensors) {
      available.push_back(absl::StrCat(tensor.name, " (", tensor.kind, ")"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "no state tensor matches layers [", absl::StrJoin(spec.layers, ","), "] and kinds [",
        absl::StrJoin(spec.kinds, ","), "]; the state has: ", absl::StrJoin(available, ", ")));
  }
  int64_t total = 0;
  for (const backends::StateTensor* tensor : selected) total += ElementCount(*tensor);
  const int64_t step = (total + spec.max_features - 1) / spec.max_features;
  FeatureLayout layout;
  int64_t global_start = 0;  // global index of the tensor's first element
  for (const backends::StateTensor* tensor : selected) {
    const int64_t size = ElementCount(*tensor);
    // First global index >= global_start that is a multiple of step.
    const int64_t first_global = (global_start + step - 1) / step * step;
    if (first_global < global_start + size) {
      FeatureSegment segment;
      segment.tensor = tensor->name;
      segment.begin = first_global - global_start;
      segment.step = step;
      segment.count = (size - 1 - segment.begin) / step + 1;
      layout.segments.push_back(segment);
    }
    global_start += size;
  }
  return layout;
}

absl::Status ExtractFeatures(const FeatureLayout& layout, const backends::StateView& view,
                             std::vector<double>& features) {
  absl::StatusOr<std::vector<const backends::StateTensor*>> tensors = MatchSegments(layout, view);
  if (!tensors.ok()) return tensors.status();
  features.resize(layout.size());
  int64_t out = 0;
  for (size_t s = 0; s < layout.segments.size(); ++s) {
    const FeatureSegment& segment = layout.segments[s];
    const float* data = (*tensors)[s]->data;
    for (int64_t i = 0; i < segment.count; ++i) {
      features[out++] = data[segment.begin + i * segment.step];
    }
  }
  return absl::OkStatus();
}

absl::Status AddToFeatures(const FeatureLayout& layout, absl::Span<const double> delta,
                           const backends::StateView& view) {
  if (static_cast<int64_t>(delta.size()) != layout.size()) {
    return absl::InvalidArgumentError(absl::StrCat("a feature change has ", delta.size(),
                                                   " values; the layout has ", layout.size()));
  }
  absl::StatusOr<std::vector<const backends::StateTensor*>> tensors = MatchSegments(layout, view);
  if (!tensors.ok()) return tensors.status();
  int64_t in = 0;
  for (size_t s = 0; s < layout.segments.size(); ++s) {
    const FeatureSegment& segment = layout.segments[s];
    float* data = (*tensors)[s]->data;
    for (int64_t i = 0; i < segment.count; ++i) {
      float& value = data[segment.begin + i * segment.step];
      value = static_cast<float>(static_cast<double>(value) + delta[in++]);
    }
  }
  return absl::OkStatus();
}

}  // namespace llive::bridge
