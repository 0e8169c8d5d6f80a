// JSON Lines reader for the exemplar corpus.
#include "bridge/exemplar_corpus.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace llive::bridge {

absl::StatusOr<std::vector<Exemplar>> ParseExemplars(absl::string_view contents,
                                                     absl::string_view source) {
  std::vector<Exemplar> corpus;
  std::set<std::string> ids;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    if (line.empty() || line == "\r") continue;
    const std::string where = absl::StrCat(source, ":", line_number);
    nlohmann::json object = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
    if (object.is_discarded() || !object.is_object()) {
      return absl::DataLossError(absl::StrCat(where, ": not a JSON object"));
    }
    Exemplar exemplar;
    for (auto [name, field] :
         {std::pair{"id", &exemplar.id}, std::pair{"group", &exemplar.group},
          std::pair{"lang", &exemplar.lang}, std::pair{"text", &exemplar.text}}) {
      auto it = object.find(name);
      if (it == object.end() || !it->is_string()) {
        return absl::DataLossError(absl::StrCat(where, ": missing string field \"", name, "\""));
      }
      *field = it->get<std::string>();
    }
    auto scores = object.find("scores");
    if (scores == object.end() || !scores->is_object()) {
      return absl::DataLossError(absl::StrCat(where, ": missing object field \"scores\""));
    }
    for (const Factor& factor : Factors()) {
      auto score = scores->find(std::string(factor.id));
      if (score == scores->end() || !score->is_number()) {
        return absl::DataLossError(
            absl::StrCat(where, ": \"scores\" has no number for factor \"", factor.id, "\""));
      }
      const double value = score->get<double>();
      if (!(value >= 0.0 && value <= 1.0)) {
        return absl::DataLossError(absl::StrCat(where, ": score of \"", factor.id, "\" is ", value,
                                                "; scores lie in [0, 1]"));
      }
      exemplar.scores[factor.index] = static_cast<float>(value);
    }
    if (!ids.insert(exemplar.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": id \"", exemplar.id, "\" appears twice; ids must be unique"));
    }
    corpus.push_back(std::move(exemplar));
  }
  if (corpus.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, " holds no exemplars"));
  }
  return corpus;
}

std::string ShippedExemplarCorpus() {
  std::error_code error;
  std::vector<std::filesystem::path> candidates = {"bridge/data/exemplars.jsonl"};
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    candidates.push_back(exe.parent_path().parent_path() / "share" / "llive" / "bridge" /
                         "exemplars.jsonl");
  }
  candidates.emplace_back(LLIVE_BUILTIN_EXEMPLARS);
  for (const std::filesystem::path& candidate : candidates) {
    if (std::filesystem::is_regular_file(candidate, error)) return candidate.string();
  }
  return LLIVE_BUILTIN_EXEMPLARS;
}

absl::StatusOr<std::vector<Exemplar>> LoadExemplars(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return absl::NotFoundError(absl::StrCat("cannot open exemplar corpus ", path,
                                            "; the project's own is bridge/data/exemplars.jsonl"));
  }
  std::stringstream contents;
  contents << file.rdbuf();
  return ParseExemplars(contents.str(), path);
}

}  // namespace llive::bridge
