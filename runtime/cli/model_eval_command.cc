// `llive model eval`: held-out cross-entropy of a native model over a text or JSON Lines file,
// with the windowed protocol of the training script, so the number compares with PyTorch's.
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backends/held_out_loss.h"
#include "backends/native/utf8.h"
#include "nlohmann/json.hpp"
#include "runtime/atomic_file.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/command_settings.h"

namespace llive::cli {
namespace {

struct EvalFlags {
  std::string backend;
  std::string text_file;
  std::string separator = "<|endoftext|>";
  std::string dump_tokens;
  int64_t window = 512;
  int64_t max_tokens = 0;
  int threads = 0;
  std::string device;  // empty: backend.device
};

// The documents of `path`: one per line's "text" for .jsonl, else the whole file.
absl::StatusOr<std::vector<std::string>> ReadDocuments(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read --text-file ", path));
  std::vector<std::string> documents;
  if (!absl::EndsWith(path, ".jsonl")) {
    std::stringstream text;
    text << in.rdbuf();
    documents.push_back(text.str());
  } else {
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      if (line.empty()) continue;
      nlohmann::json json = nlohmann::json::parse(line, nullptr, false);
      if (json.is_discarded() || !json.is_object() || !json.contains("text") ||
          !json["text"].is_string()) {
        return absl::InvalidArgumentError(absl::StrCat(
            path, " line ", number, ": not a JSON object with a string \"text\" field"));
      }
      documents.push_back(json["text"].get<std::string>());
    }
  }
  for (size_t i = 0; i < documents.size(); ++i) {
    if (absl::Status text =
            backends::native::CheckUtf8(documents[i], absl::StrCat(path, ": document ", i + 1));
        !text.ok()) {
      return text;
    }
  }
  if (documents.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " has no text"));
  return documents;
}

void RunEval(CliContext& context, const EvalFlags& flags) {
  absl::StatusOr<std::vector<std::string>> documents = ReadDocuments(flags.text_file);
  if (!documents.ok()) return ReportError(context, documents.status());
  backends::NativeBackendOptions options;
  options.threads = flags.threads;
  options.device = flags.device;
  auto backend = OpenStatefulModel(context, flags.backend, options);
  if (!backend.ok()) {
    return ReportError(
        context, backend.status(),
        backend.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
  }
  // Each document is followed by the separator token, as the training script's stream is.
  std::vector<int32_t> separator;
  if (!flags.separator.empty()) {
    absl::StatusOr<std::vector<int32_t>> ids = (*backend)->Tokenize(flags.separator);
    if (!ids.ok()) return ReportError(context, ids.status());
    if (ids->size() != 1) {
      return ReportError(context,
                         absl::InvalidArgumentError(absl::StrCat(
                             "--separator \"", flags.separator, "\" is ", ids->size(),
                             " tokens for this tokenizer, not one special token; give the "
                             "model's end-of-text text or --separator \"\"")),
                         kExitUsage);
    }
    separator = *ids;
  }
  std::vector<int32_t> stream;
  for (const std::string& document : *documents) {
    absl::StatusOr<std::vector<int32_t>> ids = (*backend)->Tokenize(document);
    if (!ids.ok()) return ReportError(context, ids.status());
    stream.insert(stream.end(), ids->begin(), ids->end());
    stream.insert(stream.end(), separator.begin(), separator.end());
  }
  if (!flags.dump_tokens.empty()) {
    std::string text;
    for (int32_t id : stream) absl::StrAppend(&text, id, "\n");
    if (absl::Status s = runtime::WriteFileAtomically(flags.dump_tokens, text); !s.ok()) {
      return ReportError(context, s);
    }
  }
  backends::HeldOutLossOptions loss_options;
  loss_options.window = flags.window;
  loss_options.max_tokens = flags.max_tokens;
  absl::StatusOr<backends::HeldOutLoss> loss =
      backends::MeasureHeldOutLoss(**backend, stream, loss_options);
  if (!loss.ok()) return ReportError(context, loss.status(), kExitUsage);
  const double rate = loss->seconds > 0 ? loss->tokens / loss->seconds : 0;
  if (context.json) {
    std::cout << nlohmann::json({{"backend", (*backend)->Name()},
                                 {"documents", documents->size()},
                                 {"stream_tokens", stream.size()},
                                 {"window", flags.window},
                                 {"windows", loss->windows},
                                 {"tokens", loss->tokens},
                                 {"cross_entropy", loss->cross_entropy},
                                 {"perplexity", loss->perplexity},
                                 {"seconds", loss->seconds},
                                 {"tokens_per_second", rate}})
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << absl::StrFormat(
      "%s\n%d documents, %d tokens; %d windows of %d from an empty state\n"
      "held-out cross-entropy %.6f nats/token (perplexity %.3f), %.0f tokens/s\n",
      (*backend)->Name(), documents->size(), stream.size(), loss->windows, flags.window,
      loss->cross_entropy, loss->perplexity, rate);
}

}  // namespace

void RegisterModelEvalCommand(CLI::App& model, CliContext& context) {
  auto flags = std::make_shared<EvalFlags>();
  auto* eval = model.add_subcommand(
      "eval", "Held-out cross-entropy of a native model over a text or JSON Lines file");
  eval->add_option("--backend", flags->backend,
                   "mamba:PATH|NAME or rwkv7:PATH|NAME (default: $LLIVE_LLM_BACKEND, else the "
                   "home's backend.llm, else the shipped llive-mamba-small)");
  eval->add_option("--text-file", flags->text_file,
                   "Plain text (one document) or .jsonl with a \"text\" field per line")
      ->required();
  eval->add_option("--window", flags->window, "Tokens predicted per window, from an empty state")
      ->capture_default_str()
      ->check(AtLeast(1));
  eval->add_option("--max-tokens", flags->max_tokens, "Score at most this many tokens (0: all)")
      ->capture_default_str()
      ->check(AtLeast(0));
  eval->add_option("--separator", flags->separator,
                   "Text of the token appended after each document (empty: none)")
      ->capture_default_str();
  eval->add_option("--dump-tokens", flags->dump_tokens,
                   "Write the token stream here, one id per line (for a reference to score)");
  eval->add_option("--threads", flags->threads, "CPU threads (default: all cores)")
      ->check(AtLeast(0));
  eval->add_option("--device", flags->device,
                   "cpu, cuda or cuda:N (default: backend.device, else cpu)");
  eval->callback([&context, flags] { RunEval(context, *flags); });
}

}  // namespace llive::cli
