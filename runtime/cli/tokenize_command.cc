// `llive tokenize`: text to token ids and back with any tokenizer llive reads
// (tokenizer.json, RWKV World vocabulary, GGUF, or a model folder).
#include <charconv>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "backends/native/tokenizer_factory.h"
#include "runtime/cli/cli.h"

namespace llive::cli {
namespace {

namespace native = backends::native;

struct TokenizeOptions {
  std::string tokenizer;
  std::string file;  // empty: stdin
  bool ids_only = false;
  bool decode = false;
};

absl::StatusOr<std::string> ReadInput(const std::string& file) {
  if (file.empty() || file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", file));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Ids separated by whitespace or commas, optionally inside [ ] (so JSON arrays work).
absl::StatusOr<std::vector<int32_t>> ParseIds(absl::string_view text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ',' || c == '[' || c == ']') {
      ++i;
      continue;
    }
    int32_t id = 0;
    auto [end, error] = std::from_chars(text.data() + i, text.data() + text.size(), id);
    if (error != std::errc() || end == text.data() + i) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--decode reads token ids (numbers separated by spaces, commas or newlines); found \"",
          text.substr(i, 16), "\" at byte ", i));
    }
    ids.push_back(id);
    i = static_cast<size_t>(end - text.data());
  }
  return ids;
}

std::string Printable(const std::string& bytes) {
  return nlohmann::json(bytes).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status Run(const TokenizeOptions& options, bool json) {
  absl::StatusOr<std::unique_ptr<native::Tokenizer>> tokenizer =
      native::LoadTokenizer(options.tokenizer);
  if (!tokenizer.ok()) return tokenizer.status();
  absl::StatusOr<std::string> input = ReadInput(options.file);
  if (!input.ok()) return input.status();
  if (options.decode) {
    absl::StatusOr<std::vector<int32_t>> ids = ParseIds(*input);
    if (!ids.ok()) return ids.status();
    std::string text = (*tokenizer)->Decode(*ids);
    if (json) {
      std::cout << nlohmann::json{{"text", text}}.dump(-1, ' ', false,
                                                       nlohmann::json::error_handler_t::replace)
                << "\n";
    } else {
      std::cout << text;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<int32_t>> ids = (*tokenizer)->Encode(*input);
  if (!ids.ok()) return ids.status();
  if (json) {
    nlohmann::json out = {{"ids", *ids}, {"count", ids->size()}};
    if (!options.ids_only) {
      nlohmann::json tokens = nlohmann::json::array();
      for (int32_t id : *ids) tokens.push_back((*tokenizer)->TokenBytes(id));
      out["tokens"] = std::move(tokens);
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return absl::OkStatus();
  }
  for (int32_t id : *ids) {
    std::cout << id;
    if (!options.ids_only) std::cout << "\t" << Printable((*tokenizer)->TokenBytes(id));
    std::cout << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterTokenizeCommand(CLI::App& app, CliContext& context) {
  auto* command = app.add_subcommand(
      "tokenize",
      "Text to token ids (one per line with the token's text, or --ids, or --json) and back "
      "(--decode)");
  auto options = std::make_shared<TokenizeOptions>();
  command
      ->add_option("--tokenizer", options->tokenizer,
                   "tokenizer.json, an RWKV vocabulary .txt, a .gguf file, or a model folder")
      ->required();
  auto* ids = command->add_flag("--ids", options->ids_only, "Print only the ids, one per line");
  command->add_flag("--decode", options->decode, "Read ids and write the text they stand for")
      ->excludes(ids);
  command->add_option("FILE", options->file, "Input file (default: stdin)");
  command->callback([&context, options] {
    absl::Status status = Run(*options, context.json);
    if (!status.ok()) ReportError(context, status);
  });
}

}  // namespace llive::cli
