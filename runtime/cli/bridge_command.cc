// `llive bridge fit|read|write|persona`: fit the thought-factor bridge of a stateful model and
// keep it in an agent's parameter layer, read a prompt's state as ten factors, write a target
// vector into it, keep persona targets.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "backends/backend_spec.h"
#include "backends/native/utf8.h"
#include "bridge/bridge_fit.h"
#include "bridge/bridge_store.h"
#include "bridge/exemplar_corpus.h"
#include "bridge/random_twin.h"
#include "bridge/thought_bridge.h"
#include "nlohmann/json.hpp"
#include "runtime/atomic_file.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/command_settings.h"
#include "runtime/cli/home_memory.h"

namespace llive::cli {
namespace {

// A bad --prompt (empty, not UTF-8) is a usage error; anything else opening it is a failure.
int ExitCodeFor(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

struct BridgeFlags {
  std::string backend;
  std::string agent = "default";  // whose parameter layer holds the parameters and personas
  std::string params;             // read/write/persona: a parameters file instead of the memory
  // fit
  std::string out;     // also write the parameters to this file
  std::string corpus;  // empty: bridge::ShippedExemplarCorpus()
  std::vector<int> layers;
  std::vector<std::string> kinds;
  int64_t max_features = bridge::FeatureSpec{}.max_features;
  int permutations = 100;
  bool no_random_baseline = false;
  // read / write
  std::string prompt;
  std::vector<std::string> targets;  // factor=value
  std::string persona;
  double strength = 1.0;
  int max_tokens = 24;
  // persona
  std::string name;
};

// The memory of the home, where an agent's bridge parameters and personas live.
absl::StatusOr<std::unique_ptr<memory::MemoryStore>> OpenAgentMemory(const CliContext& context) {
  absl::StatusOr<std::string> dir = runtime::ResolveHomeDir(context.home_flag);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<runtime::Home> home = runtime::OpenHome(*dir);
  if (!home.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("no home to keep bridge parameters in (", home.status().message(),
                     "); run `llive init`, or use a parameters file (--out on fit, --params)"));
  }
  return OpenHomeMemory(*home);
}

absl::StatusOr<bridge::BridgeParams> LoadParamsFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = runtime::ReadFile(path);
  if (!bytes.ok()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read bridge parameters ", path, " (", bytes.status().message(),
                     "); fit them with `llive bridge fit --out ", path, "`"));
  }
  absl::StatusOr<bridge::BridgeParams> params = bridge::ParseBridgeParams(*bytes);
  if (!params.ok()) {
    return absl::Status(params.status().code(),
                        absl::StrCat(path, ": ", params.status().message()));
  }
  return params;
}

absl::Status SaveParamsFile(const std::string& path, const bridge::BridgeParams& params) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  return runtime::WriteFileAtomically(path, bridge::SerializeBridgeParams(params));
}

// Parses "factor=value" items into a target and the list of factors it names.
absl::Status ParseTargets(const std::vector<std::string>& items, bridge::ThoughtVector& target,
                          std::vector<int>& factors) {
  for (const std::string& item : items) {
    for (absl::string_view part : absl::StrSplit(item, ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> pair = absl::StrSplit(part, absl::MaxSplits('=', 1));
      absl::StatusOr<bridge::Factor> factor = bridge::FindFactor(pair.first);
      if (!factor.ok()) return absl::InvalidArgumentError(factor.status().message());
      float value = 0;
      if (!absl::SimpleAtof(pair.second, &value) || !(value >= 0.0f && value <= 1.0f)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--target ", part, ": the value must be a number in [0, 1]"));
      }
      target[factor->index] = value;
      factors.push_back(factor->index);
    }
  }
  return absl::OkStatus();
}

// Terminal columns of a display name: CJK code points take two.
int DisplayWidth(absl::string_view text) {
  int width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) width += c >= 0xE0 ? 2 : 1;
  }
  return width;
}

std::string Bar(double value, int width = 30) {
  const int filled = static_cast<int>(value * width + 0.5);
  std::string bar;
  for (int i = 0; i < width; ++i) bar += i < filled ? "\u2588" : "\u2591";
  return bar;
}

// Bars of `vector`; with `target`, the target of each factor in `chosen` (all when empty).
void PrintBars(const bridge::ThoughtVector& vector, const bridge::ThoughtVector* target,
               const std::vector<int>& chosen = {}) {
  for (const bridge::Factor& factor : bridge::Factors()) {
    std::string label = absl::StrFormat("%-18s %s", factor.id, factor.name_ja);
    label.append(static_cast<size_t>(std::max(0, 9 - DisplayWidth(factor.name_ja))), ' ');
    std::cout << label << " " << Bar(vector[factor.index]) << " "
              << absl::StrFormat("%.2f", vector[factor.index]);
    const bool named =
        chosen.empty() || std::find(chosen.begin(), chosen.end(), factor.index) != chosen.end();
    if (target != nullptr && named) {
      std::cout << absl::StrFormat("  (target %.2f)", (*target)[factor.index]);
    }
    std::cout << "\n";
  }
}

nlohmann::json VectorJson(const bridge::ThoughtVector& vector) {
  nlohmann::json out = nlohmann::json::object();
  for (const bridge::Factor& factor : bridge::Factors())
    out[std::string(factor.id)] = vector[factor.index];
  return out;
}

// A greedy continuation: its text, and its readout as a text of its own (fed into a fresh
// state), which shows whether a write changed what the model writes, not only its state.
struct Continuation {
  std::string text;
  std::optional<bridge::ThoughtVector> factors;  // none for an empty continuation
};

// Greedy continuation of `state` for `count` tokens, the first one chosen from `logits`.
absl::StatusOr<Continuation> GreedyContinuation(backends::StatefulBackend& backend,
                                                const bridge::ThoughtBridge& bridge,
                                                backends::ModelState& state,
                                                std::vector<float> logits, int count) {
  std::vector<int32_t> generated;
  for (int i = 0; i < count; ++i) {
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    generated.push_back(next);
    absl::StatusOr<std::vector<float>> more = backend.Feed(state, absl::MakeConstSpan(&next, 1));
    if (!more.ok()) return more.status();
    logits = *std::move(more);
  }
  Continuation out;
  absl::StatusOr<std::string> text = backend.Detokenize(generated);
  if (!text.ok()) return text.status();
  out.text = *std::move(text);
  if (generated.empty()) return out;
  absl::StatusOr<std::unique_ptr<backends::ModelState>> fresh = backend.NewState();
  if (!fresh.ok()) return fresh.status();
  if (absl::StatusOr<std::vector<float>> fed = backend.Feed(**fresh, generated); !fed.ok()) {
    return fed.status();
  }
  absl::StatusOr<backends::StateView> view = backend.View(**fresh);
  if (!view.ok()) return view.status();
  absl::StatusOr<bridge::ThoughtVector> factors = bridge.Read(*view);
  if (!factors.ok()) return factors.status();
  out.factors = *factors;
  return out;
}

void RunFit(CliContext& context, const BridgeFlags& flags) {
  absl::StatusOr<std::unique_ptr<backends::StatefulBackend>> backend =
      OpenStatefulModel(context, flags.backend);
  if (!backend.ok()) return ReportError(context, backend.status(), kExitUsage);
  // Where the parameters go is settled before the long fit, so that a missing home fails fast.
  // Without a home, --out alone is enough.
  std::unique_ptr<memory::MemoryStore> store;
  absl::StatusOr<std::unique_ptr<memory::MemoryStore>> opened = OpenAgentMemory(context);
  if (opened.ok()) {
    store = *std::move(opened);
  } else if (flags.out.empty() || !absl::IsFailedPrecondition(opened.status())) {
    return ReportError(context, opened.status(), kExitUsage);
  } else {
    std::cerr << "llive: note: the parameters go to " << flags.out
              << " only, not to an agent's memory (" << opened.status().message() << ")\n";
  }
  absl::StatusOr<std::vector<bridge::Exemplar>> corpus =
      bridge::LoadExemplars(flags.corpus.empty() ? bridge::ShippedExemplarCorpus() : flags.corpus);
  if (!corpus.ok()) return ReportError(context, corpus.status());
  bridge::BridgeFitOptions options;
  options.features.layers = flags.layers;
  if (!flags.kinds.empty()) options.features.kinds = flags.kinds;
  options.features.max_features = flags.max_features;
  options.probes.permutations = flags.permutations;
  std::unique_ptr<backends::StatefulBackend> twin;
  if (!flags.no_random_baseline) {
    absl::StatusOr<std::unique_ptr<backends::StatefulBackend>> made =
        bridge::MakeRandomTwin(**backend, /*seed=*/2);
    if (!made.ok()) return ReportError(context, made.status());
    twin = *std::move(made);
  }
  const int64_t passes = twin ? 2 : 1;
  int64_t pass = 0;
  auto progress = [&](int64_t done, int64_t total) {
    if (context.json) return;
    if (done == total) ++pass;
    if (done % 50 == 0 || done == total) {
      std::cerr << "\rfeeding the corpus (" << std::min(pass + 1, passes) << "/" << passes
                << "): " << done << "/" << total << std::flush;
      if (done == total) std::cerr << "\n";
    }
  };
  absl::StatusOr<bridge::BridgeFitResult> fit =
      bridge::FitBridge(**backend, *corpus, options, twin.get(), progress);
  if (!fit.ok()) return ReportError(context, fit.status());
  nlohmann::json stored = nlohmann::json::object();
  std::string where;
  if (store) {
    absl::StatusOr<int64_t> id = bridge::StoreBridgeParams(*store, flags.agent, fit->params);
    if (!id.ok()) return ReportError(context, id.status());
    const std::string name =
        bridge::BridgeParamsArtifactName(fit->params.architecture, fit->params.model_fingerprint);
    stored["artifact"] = {{"agent", flags.agent},
                          {"id", *id},
                          {"kind", bridge::kBridgeParamsArtifactKind},
                          {"name", name}};
    where = absl::StrCat("parameters: artifact ", *id, " (", bridge::kBridgeParamsArtifactKind,
                         " \"", name, "\") of agent \"", flags.agent, "\"\n");
  }
  if (!flags.out.empty()) {
    if (absl::Status saved = SaveParamsFile(flags.out, fit->params); !saved.ok()) {
      return ReportError(context, saved);
    }
    stored["file"] = flags.out;
    absl::StrAppend(&where, "parameters file: ", flags.out, "\n");
  }
  if (context.json) {
    nlohmann::json out = nlohmann::json::parse(bridge::FitReportJson(fit->report));
    out["params"] = stored;
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << bridge::FormatFitReport(fit->report) << "\n" << where;
  }
}

// Opens the backend and its bridge, feeds the prompt; the state and the last logits.
struct PromptState {
  std::unique_ptr<backends::StatefulBackend> backend;
  std::optional<bridge::ThoughtBridge> bridge;
  std::unique_ptr<memory::MemoryStore> store;  // the agent's memory; null with --params
  std::unique_ptr<backends::ModelState> state;
  std::vector<float> logits;
};

absl::StatusOr<PromptState> OpenPrompt(CliContext& context, const BridgeFlags& flags) {
  if (absl::Status text = backends::native::CheckUtf8(flags.prompt, "--prompt"); !text.ok()) {
    return text;
  }
  PromptState out;
  absl::StatusOr<std::unique_ptr<backends::StatefulBackend>> backend =
      OpenStatefulModel(context, flags.backend);
  if (!backend.ok()) return backend.status();
  out.backend = *std::move(backend);
  const backends::ModelInfo& info = out.backend->Info();
  absl::StatusOr<bridge::BridgeParams> params;
  if (!flags.params.empty()) {
    params = LoadParamsFile(flags.params);
    if (params.ok() && params->model_fingerprint != info.fingerprint) {
      return absl::FailedPreconditionError(
          absl::StrCat(flags.params, " was fitted on another model (fingerprint ",
                       params->model_fingerprint.substr(0, 16), ", this one ",
                       info.fingerprint.substr(0, 16), "); refit with `llive bridge fit`"));
    }
  } else {
    absl::StatusOr<std::unique_ptr<memory::MemoryStore>> store = OpenAgentMemory(context);
    if (!store.ok()) return store.status();
    out.store = *std::move(store);
    params = bridge::LoadBridgeParams(*out.store, flags.agent, info.architecture, info.fingerprint);
    if (absl::IsNotFound(params.status())) {
      return absl::NotFoundError(absl::StrCat(
          "agent \"", flags.agent, "\" has no bridge parameters for ", out.backend->Name(),
          " (fingerprint ", info.fingerprint.substr(0, 16),
          ") in its memory; run `llive bridge fit "
          "--backend ",
          out.backend->Name(), " --agent ", flags.agent, "` first, or give --params FILE"));
    }
  }
  if (!params.ok()) return params.status();
  absl::StatusOr<bridge::ThoughtBridge> made = bridge::ThoughtBridge::Create(*std::move(params));
  if (!made.ok()) return made.status();
  out.bridge.emplace(*std::move(made));
  absl::StatusOr<std::vector<int32_t>> tokens = out.backend->Tokenize(flags.prompt);
  if (!tokens.ok()) return tokens.status();
  if (tokens->empty()) return absl::InvalidArgumentError("--prompt is empty");
  absl::StatusOr<std::unique_ptr<backends::ModelState>> state = out.backend->NewState();
  if (!state.ok()) return state.status();
  out.state = *std::move(state);
  absl::StatusOr<std::vector<float>> logits = out.backend->Feed(*out.state, *tokens);
  if (!logits.ok()) return logits.status();
  out.logits = *std::move(logits);
  return out;
}

void RunRead(CliContext& context, const BridgeFlags& flags) {
  absl::StatusOr<PromptState> prompt = OpenPrompt(context, flags);
  if (!prompt.ok()) return ReportError(context, prompt.status(), ExitCodeFor(prompt.status()));
  absl::StatusOr<backends::StateView> view = prompt->backend->View(*prompt->state);
  if (!view.ok()) return ReportError(context, view.status());
  absl::StatusOr<bridge::ThoughtVector> vector = prompt->bridge->Read(*view);
  if (!vector.ok()) return ReportError(context, vector.status());
  if (context.json) {
    std::cout << nlohmann::json({{"factors", VectorJson(*vector)}}).dump(2) << "\n";
    return;
  }
  PrintBars(*vector, nullptr);
}

// The persona's target: from the parameters file with --params, else from the agent's memory.
absl::StatusOr<bridge::ThoughtVector> PersonaTarget(const PromptState& prompt,
                                                    const BridgeFlags& flags) {
  if (!prompt.store) {
    const auto& personas = prompt.bridge->params().personas;
    auto it = personas.find(flags.persona);
    if (it == personas.end()) {
      return absl::NotFoundError(
          absl::StrCat("no persona \"", flags.persona, "\" in ", flags.params,
                       "; add one with `llive bridge persona set ", flags.persona, " --params ",
                       flags.params, " --target ...`"));
    }
    return it->second;
  }
  return bridge::LoadPersona(*prompt.store, flags.agent, flags.persona);
}

void RunWrite(CliContext& context, const BridgeFlags& flags) {
  absl::StatusOr<PromptState> prompt = OpenPrompt(context, flags);
  if (!prompt.ok()) return ReportError(context, prompt.status(), ExitCodeFor(prompt.status()));
  bridge::WriteRequest request;
  request.strength = flags.strength;
  if (!flags.persona.empty()) {
    absl::StatusOr<bridge::ThoughtVector> target = PersonaTarget(*prompt, flags);
    if (!target.ok()) {
      return ReportError(context, target.status(),
                         absl::IsNotFound(target.status()) ? kExitUsage : kExitFailure);
    }
    request.target = *target;
  }
  if (absl::Status parsed = ParseTargets(flags.targets, request.target, request.factors);
      !parsed.ok()) {
    return ReportError(context, parsed, kExitUsage);
  }
  if (flags.persona.empty() && request.factors.empty()) {
    return ReportError(context,
                       absl::InvalidArgumentError("give --target factor=value or --persona NAME"),
                       kExitUsage);
  }
  if (!flags.persona.empty() && !flags.targets.empty()) request.factors.clear();  // all ten
  auto unedited = prompt->state->Clone();
  absl::StatusOr<backends::StateView> view = prompt->backend->View(*prompt->state);
  if (!view.ok()) return ReportError(context, view.status());
  const bridge::ThoughtVector before = *prompt->bridge->Read(*view);
  absl::StatusOr<bridge::WriteResult> result = prompt->bridge->Write(*view, request);
  if (!result.ok()) return ReportError(context, result.status(), kExitUsage);
  const bridge::ThoughtVector after = *prompt->bridge->Read(*view);
  absl::StatusOr<Continuation> text_before = GreedyContinuation(
      *prompt->backend, *prompt->bridge, *unedited, prompt->logits, flags.max_tokens);
  absl::StatusOr<Continuation> text_after = GreedyContinuation(
      *prompt->backend, *prompt->bridge, *prompt->state, prompt->logits, flags.max_tokens);
  if (!text_before.ok()) return ReportError(context, text_before.status());
  if (!text_after.ok()) return ReportError(context, text_after.status());
  if (context.json) {
    nlohmann::json out = {{"before", VectorJson(before)},
                          {"after", VectorJson(after)},
                          {"strength", flags.strength},
                          {"state_change_norm", result->state_change_norm},
                          {"continuation_before", text_before->text},
                          {"continuation_after", text_after->text}};
    if (text_before->factors && text_after->factors) {
      out["continuation_before_factors"] = VectorJson(*text_before->factors);
      out["continuation_after_factors"] = VectorJson(*text_after->factors);
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::cout << "before\n";
  PrintBars(before, nullptr);
  std::cout << "\nafter (strength " << flags.strength << ", state change norm "
            << absl::StrFormat("%.4g", result->state_change_norm) << ")\n";
  PrintBars(after, &request.target, request.factors);
  std::cout << "\ngreedy continuation before: " << text_before->text
            << "\ngreedy continuation after:  " << text_after->text << "\n";
  if (text_before->factors && text_after->factors) {
    std::cout << "the continuations read on their own (written factors):";
    for (const bridge::Factor& factor : bridge::Factors()) {
      const bool named = request.factors.empty() ||
                         std::find(request.factors.begin(), request.factors.end(), factor.index) !=
                             request.factors.end();
      if (!named) continue;
      std::cout << absl::StrFormat(" %s %.2f -> %.2f", factor.id,
                                   (*text_before->factors)[factor.index],
                                   (*text_after->factors)[factor.index]);
    }
    std::cout << "\n";
  }
}

// Personas live in the agent's memory, or with --params in that parameters file.
absl::StatusOr<std::map<std::string, bridge::ThoughtVector>> LoadAllPersonas(
    const CliContext& context, const BridgeFlags& flags) {
  if (!flags.params.empty()) {
    absl::StatusOr<bridge::BridgeParams> params = LoadParamsFile(flags.params);
    if (!params.ok()) return params.status();
    return params->personas;
  }
  absl::StatusOr<std::unique_ptr<memory::MemoryStore>> store = OpenAgentMemory(context);
  if (!store.ok()) return store.status();
  return bridge::LoadPersonas(**store, flags.agent);
}

void PrintPersonas(CliContext& context,
                   const std::map<std::string, bridge::ThoughtVector>& personas) {
  if (context.json) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, target] : personas) out[name] = VectorJson(target);
    std::cout << nlohmann::json({{"personas", out}}).dump(2) << "\n";
    return;
  }
  for (const auto& [name, target] : personas) {
    std::cout << name << "\n";
    PrintBars(target, nullptr);
  }
}

void RunPersonaSet(CliContext& context, const BridgeFlags& flags) {
  if (absl::Status s = bridge::ValidatePersonaName(flags.name); !s.ok()) {
    return ReportError(context, s, kExitUsage);
  }
  if (flags.targets.empty()) {
    return ReportError(context, absl::InvalidArgumentError("give --target factor=value,..."),
                       kExitUsage);
  }
  bridge::ThoughtVector target{};
  target.fill(0.5f);
  std::vector<int> named;
  if (!flags.params.empty()) {
    absl::StatusOr<bridge::BridgeParams> params = LoadParamsFile(flags.params);
    if (!params.ok()) return ReportError(context, params.status());
    if (auto it = params->personas.find(flags.name); it != params->personas.end()) {
      target = it->second;
    }
    if (absl::Status parsed = ParseTargets(flags.targets, target, named); !parsed.ok()) {
      return ReportError(context, parsed, kExitUsage);
    }
    params->personas[flags.name] = target;
    if (absl::Status saved = SaveParamsFile(flags.params, *params); !saved.ok()) {
      return ReportError(context, saved);
    }
    return PrintPersonas(context, {{flags.name, target}});
  }
  absl::StatusOr<std::unique_ptr<memory::MemoryStore>> store = OpenAgentMemory(context);
  if (!store.ok()) return ReportError(context, store.status());
  absl::StatusOr<bridge::ThoughtVector> existing =
      bridge::LoadPersona(**store, flags.agent, flags.name);
  if (existing.ok()) {
    target = *existing;
  } else if (!absl::IsNotFound(existing.status())) {
    return ReportError(context, existing.status());
  }
  if (absl::Status parsed = ParseTargets(flags.targets, target, named); !parsed.ok()) {
    return ReportError(context, parsed, kExitUsage);
  }
  absl::StatusOr<int64_t> id = bridge::StorePersona(**store, flags.agent, flags.name, target);
  if (!id.ok()) return ReportError(context, id.status());
  PrintPersonas(context, {{flags.name, target}});
}

void RunPersonaList(CliContext& context, const BridgeFlags& flags) {
  absl::StatusOr<std::map<std::string, bridge::ThoughtVector>> personas =
      LoadAllPersonas(context, flags);
  if (!personas.ok()) return ReportError(context, personas.status());
  if (context.json) return PrintPersonas(context, *personas);
  for (const auto& [name, target] : *personas) {
    std::string line = name;
    for (const bridge::Factor& factor : bridge::Factors()) {
      absl::StrAppend(&line, absl::StrFormat(" %s=%.2f", factor.id, target[factor.index]));
    }
    std::cout << line << "\n";
  }
}

void RunPersonaShow(CliContext& context, const BridgeFlags& flags) {
  absl::StatusOr<std::map<std::string, bridge::ThoughtVector>> personas =
      LoadAllPersonas(context, flags);
  if (!personas.ok()) return ReportError(context, personas.status());
  auto it = personas->find(flags.name);
  if (it == personas->end()) {
    return ReportError(
        context,
        absl::NotFoundError(absl::StrCat(
            "no persona \"", flags.name, "\" (",
            flags.params.empty() ? absl::StrCat("agent \"", flags.agent, "\"") : flags.params,
            "); add one with `llive bridge persona set ", flags.name, " --target ...`")),
        kExitUsage);
  }
  PrintPersonas(context, {*it});
}

}  // namespace

void RegisterBridgeCommand(CLI::App& app, CliContext& context) {
  auto flags = std::make_shared<BridgeFlags>();
  auto* command = app.add_subcommand(
      "bridge", "Read a stateful model's state as ten thought factors and write them back");
  command->require_subcommand(1);
  const std::string backend_help =
      "Stateful model: mamba:PATH|NAME or rwkv7:PATH|NAME (default: $LLIVE_LLM_BACKEND, else "
      "the home's backend.llm, else the shipped llive-mamba-small)";
  const std::string params_help =
      "Bridge parameters file to use instead of the agent's memory (written by fit --out)";
  auto add_agent = [&flags](CLI::App* sub) {
    sub->add_option("--agent", flags->agent,
                    "Agent whose memory holds the bridge parameters and personas")
        ->capture_default_str();
  };

  auto* fit = command->add_subcommand(
      "fit",
      "Fit the probes on the exemplar corpus, store them in the agent's memory, print the "
      "report");
  fit->add_option("--backend", flags->backend, backend_help);
  add_agent(fit);
  fit->add_option("--out", flags->out, "Also write the parameters to this file");
  fit->add_option("--corpus", flags->corpus,
                  "Exemplar corpus (JSON Lines, docs/bridge.md; default: the one llive ships)");
  fit->add_option("--layers", flags->layers, "Layers to read (default: all)")->delimiter(',');
  fit->add_option("--kinds", flags->kinds, "State tensor kinds to read (default: ssm,wkv)")
      ->delimiter(',');
  fit->add_option("--max-features", flags->max_features, "Most state numbers read")
      ->capture_default_str()
      ->check(AtLeast(1));
  fit->add_option("--permutations", flags->permutations, "Shuffled-label refits per factor")
      ->capture_default_str()
      ->check(AtLeast(0));
  fit->add_flag("--no-random-baseline", flags->no_random_baseline,
                "Skip the random-weights baseline (halves the time)");
  fit->callback([&context, flags] { RunFit(context, *flags); });

  auto* read = command->add_subcommand("read", "Show a prompt's state as ten factors (bar chart)");
  read->add_option("--backend", flags->backend, backend_help);
  add_agent(read);
  read->add_option("--params", flags->params, params_help);
  read->add_option("--prompt", flags->prompt, "Text fed into an empty state")->required();
  read->callback([&context, flags] { RunRead(context, *flags); });

  auto* write = command->add_subcommand(
      "write", "Write target factors into a prompt's state; show the readout and continuation");
  write->add_option("--backend", flags->backend, backend_help);
  add_agent(write);
  write->add_option("--params", flags->params, params_help);
  write->add_option("--prompt", flags->prompt, "Text fed into an empty state")->required();
  write->add_option("--target", flags->targets,
                    "factor=value in [0, 1] (repeat or comma-separate); others are held");
  write->add_option("--persona", flags->persona, "A persona target (`llive bridge persona`)");
  write->add_option("--strength", flags->strength, "Share of the change applied")
      ->capture_default_str()
      ->check(Between(0.0, 1.0));
  write->add_option("--max-tokens", flags->max_tokens, "Tokens of greedy continuation shown")
      ->capture_default_str()
      ->check(AtLeast(0));
  write->callback([&context, flags] { RunWrite(context, *flags); });

  auto* persona = command->add_subcommand(
      "persona", "Named target vectors, kept in the agent's memory (or a parameters file)");
  persona->require_subcommand(1);
  auto* set = persona->add_subcommand(
      "set", "Add or change a persona (factors not named keep their value, new ones 0.5)");
  set->add_option("NAME", flags->name, "Persona name (letters, digits, - _ .)")->required();
  set->add_option("--target", flags->targets, "factor=value in [0, 1] (repeat or comma-separate)")
      ->required();
  add_agent(set);
  set->add_option("--params", flags->params, params_help);
  set->callback([&context, flags] { RunPersonaSet(context, *flags); });
  auto* list = persona->add_subcommand("list", "List the personas, one line each");
  add_agent(list);
  list->add_option("--params", flags->params, params_help);
  list->callback([&context, flags] { RunPersonaList(context, *flags); });
  auto* show = persona->add_subcommand("show", "Show one persona as a bar chart");
  show->add_option("NAME", flags->name, "Persona name")->required();
  add_agent(show);
  show->add_option("--params", flags->params, params_help);
  show->callback([&context, flags] { RunPersonaShow(context, *flags); });
}

}  // namespace llive::cli
