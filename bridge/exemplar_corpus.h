// The labelled exemplar corpus the bridge is fitted on (format: docs/bridge.md).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bridge/factors.h"

namespace llive::bridge {

// One labelled text.
struct Exemplar {
  std::string id;
  std::string group;  // minimal pair: texts sharing it are never split between train and test
  std::string lang;   // "en" or "ja"
  std::string text;
  ThoughtVector scores{};  // in Factors() order, each in [0, 1]
};

// Reads a JSON Lines corpus. NotFound for a missing file; DataLoss naming the file and line
// for a line that is not an object with string id, group, lang, text and a "scores" object
// holding every factor id with a number in [0, 1]; InvalidArgument for a duplicate id or an
// empty corpus.
absl::StatusOr<std::vector<Exemplar>> LoadExemplars(const std::string& path);

// The corpus llive ships, found as the shipped models are: bridge/data/exemplars.jsonl under the
// current folder, then the install's share/llive/bridge/exemplars.jsonl beside the executable's
// bin/, then the source tree's. The first that exists; the source tree's path when none does
// (so that LoadExemplars' NotFound names it).
std::string ShippedExemplarCorpus();

// Parses corpus text (the contents of a JSON Lines file); `source` names it in errors.
absl::StatusOr<std::vector<Exemplar>> ParseExemplars(absl::string_view contents,
                                                     absl::string_view source);

}  // namespace llive::bridge
