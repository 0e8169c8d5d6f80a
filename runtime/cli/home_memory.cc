// The memory store of a home, configured from its llive.json.
#include "runtime/cli/home_memory.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "memory/hashing_embedder.h"

namespace llive::cli {

absl::StatusOr<std::unique_ptr<memory::MemoryStore>> OpenHomeMemory(const runtime::Home& home) {
  const runtime::Config& config = home.config;
  const std::string embedder = config.GetString("memory.embedder");
  if (embedder != "hashing") {
    return absl::FailedPreconditionError(absl::StrCat(
        "memory.embedder is \"", embedder,
        "\" but this build's CLI only has the built-in \"hashing\" embedder; run `llive config "
        "set memory.embedder hashing`"));
  }
  memory::StoreOptions options;
  options.database_path = home.database_file;
  options.index_dir = home.index_dir;
  options.embedder = std::make_shared<memory::HashingEmbedder>(
      static_cast<int>(config.GetInteger("memory.embedding_dim")));
  options.max_content_bytes = config.GetInteger("memory.max_content_bytes");
  options.vector_index.ivf_threshold = config.GetInteger("memory.ivf_threshold");
  options.surprise_theta = config.GetNumber("memory.surprise_theta");
  options.fusion = config.GetString("memory.recall_fusion") == "weighted"
                       ? memory::Fusion::kWeighted
                       : memory::Fusion::kRrf;
  options.phase_days.warm = static_cast<int>(config.GetInteger("memory.phase_days.warm"));
  options.phase_days.cold = static_cast<int>(config.GetInteger("memory.phase_days.cold"));
  options.phase_days.archived = static_cast<int>(config.GetInteger("memory.phase_days.archived"));
  options.phase_days.erased = static_cast<int>(config.GetInteger("memory.phase_days.erased"));
  return memory::MemoryStore::Open(std::move(options));
}

}  // namespace llive::cli
