// The llive.json schema, its validation and dotted-path access.
#include "runtime/config.h"

#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "backends/backend_spec.h"
#include "backends/device.h"
#include "backends/model_locator.h"
#include "backends/native/cuda/weight_dtype.h"
#include "consolidation/schedule.h"
#include "runtime/atomic_file.h"

namespace llive::runtime {
namespace {

using Json = nlohmann::json;
using Type = ConfigKey::Type;

// Checks that build the "what is allowed" phrases of error messages.
auto IntegerRange(int64_t low, int64_t high) {
  return [low, high](const Json& value) -> std::string {
    int64_t v = value.get<int64_t>();
    if (v >= low && v <= high) return "";
    return absl::StrCat("an integer from ", low, " to ", high);
  };
}

auto NumberRange(double low, double high) {
  return [low, high](const Json& value) -> std::string {
    double v = value.get<double>();
    if (std::isfinite(v) && v >= low && v <= high) return "";
    return absl::StrCat("a number from ", low, " to ", high);
  };
}

std::string AnyBoolean(const Json&) { return ""; }

std::string RelativeOrAbsolutePath(const Json& value) {
  if (!value.get<std::string>().empty()) return "";
  return "a non-empty path (relative paths are inside the home directory)";
}

std::string StatusToAllowed(const absl::Status& status) {
  return status.ok() ? "" : std::string(status.message());
}

std::string BackendName(const Json& value) {
  return StatusToAllowed(backends::ParseBackendSpec(value.get<std::string>()).status());
}

std::string DeviceName(const Json& value) {
  return StatusToAllowed(backends::ParseDevice(value.get<std::string>()).status());
}

std::string GpuWeightsName(const Json& value) {
  return StatusToAllowed(backends::cuda::ParseWeightDtype(value.get<std::string>()).status());
}

std::string ScheduleText(const Json& value) {
  return StatusToAllowed(consolidation::ParseSchedule(value.get<std::string>()).status());
}

std::string OneOf(const Json& value, std::initializer_list<absl::string_view> choices) {
  const std::string& text = value.get_ref<const std::string&>();
  for (absl::string_view choice : choices) {
    if (text == choice) return "";
  }
  return absl::StrCat("one of: ", absl::StrJoin(choices, ", "));
}

std::string EmbedderName(const Json& value) {
  return OneOf(value, {"hashing", "openai", "ollama"});
}

std::string FusionName(const Json& value) { return OneOf(value, {"rrf", "weighted"}); }

std::string ModelName(const Json&) { return ""; }

std::vector<ConfigKey> BuildSchema() {
  return {
      {"backend.llm", Type::kString, backends::kDefaultLlmBackend,
       "The language model backend: mock|openai|anthropic|ollama|mamba:PATH|rwkv7:PATH; a "
       "bare model name (mamba:NAME) is looked up in models.dir, then in the models llive "
       "ships (the default, llive-mamba-small, is the small Mamba trained by the project). "
       "LLIVE_LLM_BACKEND overrides it.",
       BackendName},
      {"backend.device", Type::kString, "cpu", "Where native models run: cpu, cuda or cuda:N.",
       DeviceName},
      {"backend.gpu_weights", Type::kString, "bf16",
       "The element type of a native model's weights on a GPU: bf16, fp16 or fp32 (the "
       "recurrent state and the sums stay fp32).",
       GpuWeightsName},
      {"backend.model", Type::kString, "",
       "Model name sent to HTTP backends; empty means the backend's own default "
       "(LLIVE_OPENAI_MODEL for openai).",
       ModelName},
      {"backend.timeout_ms", Type::kInteger, 60000,
       "Read timeout of one HTTP request to a backend, in milliseconds.",
       IntegerRange(100, 3600000)},
      {"backend.max_retries", Type::kInteger, 3,
       "Retries of an HTTP request after 429, 5xx or a reset connection.", IntegerRange(0, 10)},
      {"memory.database", Type::kString, "memory.db",
       "The SQLite database file, relative to the home directory unless absolute.",
       RelativeOrAbsolutePath},
      {"memory.index_dir", Type::kString, "indexes",
       "Folder of the FAISS index caches, relative to the home directory unless absolute.",
       RelativeOrAbsolutePath},
      {"memory.embedder", Type::kString, "hashing",
       "The embedder for events and entries: hashing (built in), openai or ollama.", EmbedderName},
      {"memory.embedding_dim", Type::kInteger, 512, "Dimension of the hashing embedder's vectors.",
       IntegerRange(16, 8192)},
      {"memory.surprise_theta", Type::kNumber, 0.3,
       "Surprise gate threshold: an event also becomes a semantic entry when "
       "1 - max cosine to memory >= this.",
       NumberRange(0.0, 1.0)},
      {"memory.max_content_bytes", Type::kInteger, 65536,
       "Largest event or entry content accepted, in bytes.", IntegerRange(1, 16 << 20)},
      {"memory.ivf_threshold", Type::kInteger, 200000,
       "Vector count above which a FAISS index switches from exact to IVF search.",
       IntegerRange(1000, 1000000000)},
      {"memory.recall_fusion", Type::kString, "rrf",
       "How hybrid recall fuses its rankings: rrf (reciprocal rank fusion) or weighted.",
       FusionName},
      {"memory.phase_days.warm", Type::kInteger, 7,
       "Days since last access after which a record turns warm.", IntegerRange(1, 36500)},
      {"memory.phase_days.cold", Type::kInteger, 30,
       "Days since last access after which a record turns cold.", IntegerRange(1, 36500)},
      {"memory.phase_days.archived", Type::kInteger, 90,
       "Days since last access after which a record is archived.", IntegerRange(1, 36500)},
      {"memory.phase_days.erased", Type::kInteger, 180,
       "Days since last access after which a record is erased (never a public one).",
       IntegerRange(1, 36500)},
      {"models.dir", Type::kString, "models",
       "Folder of local model files, relative to the home directory unless absolute.",
       RelativeOrAbsolutePath},
      {"scheduler.schedule", Type::kString, "daily@02:30",
       "When consolidation runs: manual, daily@HH:MM (local time) or every:DURATION.",
       ScheduleText},
      {"scheduler.importance_threshold", Type::kNumber, 10.0,
       "A cycle also starts when an agent's unconsolidated importance adds up to this "
       "(0 turns the trigger off).",
       NumberRange(0.0, 1e9)},
      {"scheduler.max_events_per_cycle", Type::kInteger, 5000,
       "Most events one cycle takes from an agent.", IntegerRange(1, 100000000)},
      {"scheduler.max_cycle_seconds", Type::kInteger, 900,
       "Wall-time budget of one cycle, in seconds.", IntegerRange(1, 86400)},
      {"scheduler.workers", Type::kInteger, 1, "Agents consolidated at the same time.",
       IntegerRange(1, 256)},
      {"server.listen", Type::kString, "127.0.0.1:8177",
       "Address and port the HTTP server binds to; anything but loopback needs "
       "server.require_token.",
       [](const Json& value) -> std::string {
         const std::string& text = value.get_ref<const std::string&>();
         size_t colon = text.rfind(':');
         int port = 0;
         if (colon != std::string::npos && colon > 0 &&
             absl::SimpleAtoi(text.substr(colon + 1), &port) && port > 0 && port < 65536) {
           return "";
         }
         return "HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:8177";
       }},
      {"server.require_token", Type::kBoolean, false,
       "Require a bearer token (LLIVE_SERVER_TOKEN) on every request.", AnyBoolean},
      {"server.max_request_bytes", Type::kInteger, 1 << 20,
       "Largest request body the server accepts, in bytes.", IntegerRange(1024, 256 << 20)},
  };
}

const ConfigKey* FindKey(absl::string_view path) {
  for (const ConfigKey& key : ConfigSchema()) {
    if (key.path == path) return &key;
  }
  return nullptr;
}

bool HasType(const Json& value, Type type) {
  switch (type) {
    case Type::kString:
      return value.is_string();
    case Type::kInteger:
      return value.is_number_integer();
    case Type::kNumber:
      return value.is_number();
    case Type::kBoolean:
      return value.is_boolean();
  }
  return false;
}

std::string JsonTypeName(const Json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  return value.type_name();
}

// The keys directly below `prefix` ("" for the top level), for "known keys" hints.
std::vector<std::string> ChildrenOf(absl::string_view prefix) {
  std::vector<std::string> children;
  for (const ConfigKey& key : ConfigSchema()) {
    absl::string_view path = key.path;
    if (!prefix.empty()) {
      if (path.substr(0, prefix.size()) != prefix || path.size() <= prefix.size() ||
          path[prefix.size()] != '.') {
        continue;
      }
      path.remove_prefix(prefix.size() + 1);
    }
    std::string child(path.substr(0, path.find('.')));
    if (std::find(children.begin(), children.end(), child) == children.end()) {
      children.push_back(child);
    }
  }
  return children;
}

bool IsSection(absl::string_view path) {
  return !ChildrenOf(path).empty() && FindKey(path) == nullptr;
}

std::string Join(absl::string_view prefix, absl::string_view name) {
  return prefix.empty() ? std::string(name) : absl::StrCat(prefix, ".", name);
}

// Walks `object` (at `prefix`) against the schema, collecting one line per problem.
void Validate(const Json& object, absl::string_view prefix, std::vector<std::string>& problems) {
  for (const auto& [name, value] : object.items()) {
    std::string path = Join(prefix, name);
    // "memory.database" as one key would match the schema's path here, but the value is
    // read from {"memory": {"database": ...}}: it would be accepted and then ignored.
    if (name.find('.') != std::string::npos) {
      problems.push_back(absl::StrCat(path,
                                      ": unknown key; a key holds no '.', nest sections as "
                                      "objects instead, e.g. {\"memory\": {\"database\": ...}}"));
      continue;
    }
    if (const ConfigKey* key = FindKey(path)) {
      if (!HasType(value, key->type)) {
        problems.push_back(absl::StrCat(path, ": expected ", TypeName(key->type), ", got ",
                                        JsonTypeName(value), " ", value.dump()));
        continue;
      }
      if (std::string allowed = key->check(value); !allowed.empty()) {
        problems.push_back(
            absl::StrCat(path, ": invalid value ", value.dump(), "; allowed: ", allowed));
      }
    } else if (IsSection(path)) {
      if (!value.is_object()) {
        problems.push_back(absl::StrCat(path, ": expected an object (a section with keys ",
                                        absl::StrJoin(ChildrenOf(path), ", "), "), got ",
                                        JsonTypeName(value)));
        continue;
      }
      Validate(value, path, problems);
    } else {
      problems.push_back(absl::StrCat(path, ": unknown key; known keys",
                                      prefix.empty() ? "" : absl::StrCat(" in ", prefix), ": ",
                                      absl::StrJoin(ChildrenOf(prefix), ", ")));
    }
  }
}

Json::json_pointer Pointer(absl::string_view path);

// Checks between keys of a complete configuration: the phase thresholds must grow.
void CrossCheck(const Json& json, std::vector<std::string>& problems) {
  constexpr absl::string_view kPhases[] = {"warm", "cold", "archived", "erased"};
  for (size_t i = 1; i < std::size(kPhases); ++i) {
    std::string before = absl::StrCat("memory.phase_days.", kPhases[i - 1]);
    std::string after = absl::StrCat("memory.phase_days.", kPhases[i]);
    if (json.at(Pointer(before)).get<int64_t>() >= json.at(Pointer(after)).get<int64_t>()) {
      problems.push_back(absl::StrCat(after, ": must be greater than ", before, " (",
                                      json.at(Pointer(before)).dump(), " days)"));
    }
  }
}

Json::json_pointer Pointer(absl::string_view path) {
  std::string pointer;
  for (absl::string_view part : absl::StrSplit(path, '.')) absl::StrAppend(&pointer, "/", part);
  return Json::json_pointer(pointer);
}

}  // namespace

std::span<const ConfigKey> ConfigSchema() {
  static const std::vector<ConfigKey>* schema = new std::vector<ConfigKey>(BuildSchema());
  return *schema;
}

absl::string_view TypeName(ConfigKey::Type type) {
  switch (type) {
    case Type::kString:
      return "string";
    case Type::kInteger:
      return "integer";
    case Type::kNumber:
      return "number";
    case Type::kBoolean:
      return "boolean";
  }
  return "value";
}

Config Config::Defaults() {
  Json json = Json::object();
  for (const ConfigKey& key : ConfigSchema()) json[Pointer(key.path)] = key.default_value;
  return Config(std::move(json));
}

absl::StatusOr<Config> Config::FromJson(const Json& json) {
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the configuration must be a JSON object, got ", JsonTypeName(json)));
  }
  std::vector<std::string> problems;
  Validate(json, "", problems);
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  }
  Config config = Defaults();
  for (const ConfigKey& key : ConfigSchema()) {
    Json::json_pointer pointer = Pointer(key.path);
    if (json.contains(pointer)) config.json_[pointer] = json.at(pointer);
  }
  CrossCheck(config.json_, problems);
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  return config;
}

absl::StatusOr<Config> Config::Parse(absl::string_view text, absl::string_view source) {
  Json json;
  try {
    json = Json::parse(text);
  } catch (const Json::exception& error) {
    // A parse_error's message carries the line and column ("parse error at line 3, column
    // 5"); out_of_range 406 is a number too large for a double.
    absl::string_view what = error.what();
    if (size_t at = what.find("] "); at != absl::string_view::npos) what.remove_prefix(at + 2);
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": malformed JSON: ", what,
                     "; fix the file (see docs/configuration.md for every key)"));
  }
  absl::StatusOr<Config> config = FromJson(json);
  if (!config.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", config.status().message()));
  }
  return config;
}

absl::StatusOr<Config> Config::Load(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

absl::Status Config::Save(const std::string& path) const {
  return WriteFileAtomically(path, json_.dump(2) + "\n");
}

absl::StatusOr<Json> Config::Get(absl::string_view path) const {
  if (FindKey(path) != nullptr || IsSection(path)) return json_.at(Pointer(path));
  std::vector<std::string> keys;
  for (const ConfigKey& key : ConfigSchema()) keys.emplace_back(key.path);
  return absl::NotFoundError(absl::StrCat("unknown configuration key \"", path,
                                          "\"; known keys: ", absl::StrJoin(keys, ", ")));
}

absl::Status Config::Set(absl::string_view path, absl::string_view text) {
  const ConfigKey* key = FindKey(path);
  if (key == nullptr) return Get(path).status();
  Json value;
  switch (key->type) {
    case Type::kString:
      value = std::string(text);
      break;
    case Type::kInteger: {
      int64_t v = 0;
      if (!absl::SimpleAtoi(text, &v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": expected an integer, got \"", text, "\""));
      }
      value = v;
      break;
    }
    case Type::kNumber: {
      double v = 0;
      if (!absl::SimpleAtod(text, &v) || !std::isfinite(v)) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": expected a number, got \"", text, "\""));
      }
      value = v;
      break;
    }
    case Type::kBoolean:
      if (text != "true" && text != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": expected true or false, got \"", text, "\""));
      }
      value = text == "true";
      break;
  }
  if (std::string allowed = key->check(value); !allowed.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": invalid value ", value.dump(), "; allowed: ", allowed));
  }
  Json updated = json_;
  updated[Pointer(path)] = std::move(value);
  std::vector<std::string> problems;
  CrossCheck(updated, problems);
  if (!problems.empty()) return absl::InvalidArgumentError(absl::StrJoin(problems, "\n"));
  json_ = std::move(updated);
  return absl::OkStatus();
}

const Json& Config::Leaf(absl::string_view path) const { return json_.at(Pointer(path)); }

std::string Config::GetString(absl::string_view path) const {
  return Leaf(path).get<std::string>();
}
int64_t Config::GetInteger(absl::string_view path) const { return Leaf(path).get<int64_t>(); }
double Config::GetNumber(absl::string_view path) const { return Leaf(path).get<double>(); }
bool Config::GetBoolean(absl::string_view path) const { return Leaf(path).get<bool>(); }

}  // namespace llive::runtime
