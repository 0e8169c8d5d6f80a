// llive.json: the home directory's configuration, checked against a fixed schema.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace llive::runtime {

// One setting of llive.json, named by its dotted path ("memory.surprise_theta").
struct ConfigKey {
  enum class Type { kString, kInteger, kNumber, kBoolean };
  absl::string_view path;
  Type type;
  nlohmann::json default_value;
  absl::string_view description;
  // Returns an empty string when `value` (already of the right type) is allowed, else a
  // phrase saying what is allowed ("a number from 0 to 1").
  std::function<std::string(const nlohmann::json& value)> check;
};

// Every key llive.json may hold, in documentation order.
std::span<const ConfigKey> ConfigSchema();

// The name of a type as error messages and docs spell it ("integer").
absl::string_view TypeName(ConfigKey::Type type);

// A complete, valid configuration: every schema key has a value. Cheap to copy; not
// synchronised (copy it per thread).
class Config {
 public:
  // The built-in defaults.
  static Config Defaults();

  // Validates `json` (a possibly partial llive.json document) and fills in defaults.
  // Returns InvalidArgument listing every problem, each with the key's path and what
  // is allowed: unknown keys, wrong types, bad values.
  static absl::StatusOr<Config> FromJson(const nlohmann::json& json);

  // Parses and validates the text of a llive.json file; `source` names the file in
  // error messages. Malformed JSON gives InvalidArgument with the line and column.
  static absl::StatusOr<Config> Parse(absl::string_view text, absl::string_view source);

  // Reads `path`. NotFound when it does not exist, otherwise as Parse.
  static absl::StatusOr<Config> Load(const std::string& path);

  // Writes the whole configuration to `path` atomically (temporary file, fsync,
  // rename), so that a crash leaves either the old or the new file.
  absl::Status Save(const std::string& path) const;

  // The whole configuration as a JSON document (nested objects).
  const nlohmann::json& json() const { return json_; }

  // The value at a dotted key path: a leaf key or a section ("memory"). NotFound
  // listing the known keys otherwise.
  absl::StatusOr<nlohmann::json> Get(absl::string_view path) const;

  // Sets a leaf key from the text a user typed (parsed by the key's type) and
  // validates it. On error the configuration is unchanged.
  absl::Status Set(absl::string_view path, absl::string_view text);

  // Typed reads of leaf keys. The path must be a schema key of that type (a
  // programming error otherwise, checked by tests).
  std::string GetString(absl::string_view path) const;
  int64_t GetInteger(absl::string_view path) const;
  double GetNumber(absl::string_view path) const;
  bool GetBoolean(absl::string_view path) const;

 private:
  explicit Config(nlohmann::json json) : json_(std::move(json)) {}
  const nlohmann::json& Leaf(absl::string_view path) const;
  nlohmann::json json_;
};

}  // namespace llive::runtime
