// `llive model convert SOURCE OUTPUT.gguf`: a Hugging Face checkpoint (or a GGUF) written as
// the GGUF that llama.cpp loads for its architecture, so that both run the same file.
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/native/checkpoint.h"
#include "backends/native/dtype.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native/rwkv7_gguf_export.h"
#include "nlohmann/json.hpp"
#include "runtime/cli/cli.h"

namespace llive::cli {
namespace {

using backends::native::Checkpoint;
using backends::native::DType;

struct ConvertFlags {
  std::string source;
  std::string output;
  std::string type = "F32";
  std::string name;
};

// The architecture a checkpoint declares: general.architecture in a GGUF, model_type in a
// Hugging Face config.json ("rwkv7_fla" is flash-linear-attention's spelling of rwkv7).
std::string ArchitectureOf(const Checkpoint& checkpoint) {
  const nlohmann::json& config = checkpoint.config();
  const char* key = checkpoint.format() == Checkpoint::Format::kGguf ? "general.architecture"
                                                                       : "model_type";
  auto it = config.find(key);
  if (it == config.end() || !it->is_string()) return "";
  std::string architecture = it->get<std::string>();
  return architecture == "rwkv7_fla" ? "rwkv7" : architecture;
}

absl::Status ConvertRwkv7(const ConvertFlags& flags, DType type) {
  absl::StatusOr<std::unique_ptr<backends::native::Rwkv7Backend>> model =
      backends::native::Rwkv7Backend::Open(flags.source);
  if (!model.ok()) return model.status();
  return backends::native::WriteRwkv7Gguf((*model)->weights(), (*model)->tokenizer(),
                                          flags.output, type, flags.name);
}

// One converter per architecture llive can write as GGUF.
const std::map<std::string, std::function<absl::Status(const ConvertFlags&, DType)>>&
Converters() {
  static const auto* converters =
      new std::map<std::string, std::function<absl::Status(const ConvertFlags&, DType)>>{
          {"rwkv7", ConvertRwkv7}};
  return *converters;
}

void RunConvert(CliContext& context, ConvertFlags flags) {
  const std::string type_name = absl::AsciiStrToUpper(flags.type);
  const std::optional<DType> type = backends::native::DTypeFromName(type_name);
  if (!type.has_value() || (*type != DType::kF32 && *type != DType::kF16 &&
                            *type != DType::kBF16 && *type != DType::kQ8_0)) {
    return ReportError(context,
                       absl::InvalidArgumentError(absl::StrCat(
                           "--type ", flags.type, " is not one of F32, F16, BF16, Q8_0")),
                       kExitUsage);
  }
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(flags.source);
  if (!checkpoint.ok()) return ReportError(context, checkpoint.status());
  const std::string architecture = ArchitectureOf(**checkpoint);
  checkpoint->reset();
  auto converter = Converters().find(architecture);
  if (converter == Converters().end()) {
    std::vector<std::string> known;
    for (const auto& [name, unused] : Converters()) known.push_back(name);
    return ReportError(context, absl::InvalidArgumentError(absl::StrCat(
                                    flags.source, " is a \"", architecture,
                                    "\" checkpoint; llive model convert writes ",
                                    absl::StrJoin(known, ", "), " models")));
  }
  if (flags.name.empty()) flags.name = std::filesystem::path(flags.source).filename().string();
  if (absl::Status s = converter->second(flags, *type); !s.ok()) {
    return ReportError(context, s);
  }
  if (context.json) {
    std::cout << nlohmann::json{{"source", flags.source},
                                {"output", flags.output},
                                {"architecture", architecture},
                                {"type", type_name}}
                     .dump()
              << "\n";
  } else {
    std::cout << "wrote " << flags.output << " (" << architecture << ", " << type_name << ")\n";
  }
}

}  // namespace

void RegisterModelCommand(CLI::App& app, CliContext& context) {
  auto* model = app.add_subcommand("model", "Model files: conversion between formats");
  model->require_subcommand(1);
  auto* convert = model->add_subcommand(
      "convert", "Write a checkpoint (Hugging Face folder or GGUF) as a llama.cpp GGUF file");
  auto flags = std::make_shared<ConvertFlags>();
  convert->add_option("source", flags->source, "Hugging Face model folder or GGUF file")
      ->required();
  convert->add_option("output", flags->output, "The GGUF file to write")->required();
  convert->add_option("--type", flags->type,
                      "Storage type of the matrices: F32, F16, BF16 or Q8_0 (default F32)");
  convert->add_option("--name", flags->name, "general.name (default: the source's file name)");
  convert->callback([&context, flags] { RunConvert(context, *flags); });
}

}  // namespace llive::cli
