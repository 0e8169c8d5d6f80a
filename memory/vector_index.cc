// FAISS behind VectorIndex: IndexIDMap2(IndexFlatIP) or an IVF index from index_factory, and
// the cache file format: "LLVIDX01", header length (u32), JSON header, FAISS bytes.
#include "memory/vector_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "memory/vector_math.h"
#include "nlohmann/json.hpp"

namespace llive::memory {
namespace {

constexpr char kMagic[8] = {'L', 'L', 'V', 'I', 'D', 'X', '0', '1'};

// A fast 64-bit checksum of the FAISS bytes, to tell a damaged cache from a good one.
uint64_t Checksum(const uint8_t* data, size_t bytes) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ bytes;
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    h = (h ^ word) * 0x100000001B3ull;
    h ^= h >> 29;
  }
  for (; i < bytes; ++i) h = (h ^ data[i]) * 0x100000001B3ull;
  return h;
}

// The k best (score, id) pairs offered, kept as a min-heap so the worst is at the front.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { heap_.reserve(k); }
  // The score a candidate must beat to enter (lowest float until k are held).
  float bar() const { return heap_.size() < k_ ? std::numeric_limits<float>::lowest() : bar_; }
  void Offer(float score, int64_t id) {
    if (k_ == 0 || score <= bar()) return;
    if (heap_.size() == k_) {
      std::pop_heap(heap_.begin(), heap_.end(), Worse);
      heap_.pop_back();
    }
    heap_.emplace_back(score, id);
    std::push_heap(heap_.begin(), heap_.end(), Worse);
    bar_ = heap_.front().first;
  }
  // Best first.
  std::vector<std::pair<int64_t, float>> Take() {
    std::sort_heap(heap_.begin(), heap_.end(), Worse);
    std::vector<std::pair<int64_t, float>> hits;
    hits.reserve(heap_.size());
    for (const auto& [score, id] : heap_) hits.emplace_back(id, score);
    return hits;
  }

 private:
  static bool Worse(const std::pair<float, int64_t>& a, const std::pair<float, int64_t>& b) {
    return a.first > b.first;
  }
  size_t k_;
  float bar_ = std::numeric_limits<float>::lowest();
  std::vector<std::pair<float, int64_t>> heap_;
};

// Scores `count` contiguous rows of `dim` floats against `query` and offers them to `top`.
void ScanRows(const float* query, const float* rows, const int64_t* ids, size_t count, size_t dim,
              TopK& top) {
  for (size_t i = 0; i < count; ++i) {
    const float score = DotProduct(query, rows + i * dim, dim);
    if (score > top.bar()) top.Offer(score, ids[i]);
  }
}

}  // namespace

VectorIndex::VectorIndex(std::unique_ptr<faiss::Index> index, bool is_ivf, int dim)
    : index_(std::move(index)), is_ivf_(is_ivf), dim_(dim) {}

VectorIndex::~VectorIndex() = default;

absl::StatusOr<std::unique_ptr<VectorIndex>> VectorIndex::Build(const VectorIndexOptions& options,
                                                                absl::Span<const int64_t> ids,
                                                                absl::Span<const float> vectors) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (vectors.size() != ids.size() * static_cast<size_t>(options.dim)) {
    return absl::InvalidArgumentError(absl::StrCat("VectorIndex::Build: ", ids.size(), " ids but ",
                                                   vectors.size(), " floats for dim ",
                                                   options.dim));
  }
  try {
    if (n <= options.ivf_threshold) {
      auto flat = std::make_unique<faiss::IndexIDMap2>(new faiss::IndexFlatIP(options.dim));
      flat->own_fields = true;
      if (n > 0) flat->add_with_ids(n, vectors.data(), ids.data());
      return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(flat), false, options.dim));
    }
    // About 2 sqrt(n) lists, trained on at most 32 vectors per list: k-means (BLAS) stays
    // within seconds on 2 cores at a few hundred thousand vectors, and the probed lists hold
    // few enough vectors for FAISS's scalar scan (Debian builds it for baseline x86-64).
    const int64_t nlist = std::max<int64_t>(16, static_cast<int64_t>(2 * std::sqrt(n)));
    const std::string description = absl::StrCat("IVF", nlist, options.ivf_sq8 ? ",SQ8" : ",Flat");
    std::unique_ptr<faiss::Index> index(
        faiss::index_factory(options.dim, description.c_str(), faiss::METRIC_INNER_PRODUCT));
    const int64_t train_count = std::min<int64_t>(n, nlist * 32);
    std::vector<float> sample(static_cast<size_t>(train_count) * options.dim);
    std::mt19937_64 random(42);
    for (int64_t i = 0; i < train_count; ++i) {
      const int64_t row = train_count == n ? i : static_cast<int64_t>(random() % n);
      std::copy_n(vectors.data() + row * options.dim, options.dim, sample.data() + i * options.dim);
    }
    index->train(train_count, sample.data());
    index->add_with_ids(n, vectors.data(), ids.data());
    dynamic_cast<faiss::IndexIVF&>(*index).nprobe = options.ivf_nprobe;
    return std::unique_ptr<VectorIndex>(new VectorIndex(std::move(index), true, options.dim));
  } catch (const std::exception& error) {
    return absl::InternalError(absl::StrCat("FAISS could not build an index: ", error.what()));
  }
}

absl::StatusOr<std::unique_ptr<VectorIndex>> VectorIndex::Load(const std::string& path,
                                                               const VectorIndexOptions& options) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("no vector index cache at ", path));
  std::stringstream buffer;
  buffer << file.rdbuf();
  const std::string bytes = buffer.str();
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat("vector index cache ", path, " is damaged (", why,
                     "); it is a cache and will be rebuilt from the database"));
  };
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kMagic, 8) != 0) return corrupt("bad magic");
  uint32_t header_bytes = 0;
  std::memcpy(&header_bytes, bytes.data() + 8, 4);
  if (header_bytes > bytes.size() - 12) return corrupt("truncated header");
  nlohmann::json header = nlohmann::json::parse(bytes.substr(12, header_bytes), nullptr, false);
  if (header.is_discarded() || !header.is_object()) return corrupt("unreadable header");
  const size_t payload_offset = 12 + header_bytes;
  try {
    if (header.at("dim").get<int>() != options.dim) return corrupt("another dimension");
    if (header.at("faiss_bytes").get<size_t>() != bytes.size() - payload_offset) {
      return corrupt("truncated index");
    }
    const auto* payload = reinterpret_cast<const uint8_t*>(bytes.data() + payload_offset);
    if (header.at("checksum").get<uint64_t>() != Checksum(payload, bytes.size() - payload_offset)) {
      return corrupt("checksum mismatch");
    }
    faiss::VectorIOReader reader;
    reader.data.assign(payload, payload + (bytes.size() - payload_offset));
    std::unique_ptr<faiss::Index> index(faiss::read_index(&reader));
    if (index->d != options.dim) return corrupt("another dimension");
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(index.get());
    if (ivf != nullptr) ivf->nprobe = options.ivf_nprobe;
    std::unique_ptr<VectorIndex> result(
        new VectorIndex(std::move(index), ivf != nullptr, options.dim));
    result->watermarks_.indexed_up_to = header.at("indexed_up_to").get<int64_t>();
    result->watermarks_.changes_applied = header.at("changes_applied").get<int64_t>();
    result->watermarks_.database_uid = header.at("database_uid").get<std::string>();
    result->watermarks_.embedder_tag = header.at("embedder").get<std::string>();
    return result;
  } catch (const std::exception& error) {
    return corrupt(error.what());
  }
}

absl::Status VectorIndex::Save(const std::string& path) const {
  faiss::VectorIOWriter writer;
  try {
    faiss::write_index(index_.get(), &writer);
  } catch (const std::exception& error) {
    return absl::InternalError(
        absl::StrCat("FAISS could not serialise ", path, ": ", error.what()));
  }
  const std::string header =
      nlohmann::json{
          {"dim", dim_},
          {"indexed_up_to", watermarks_.indexed_up_to},
          {"changes_applied", watermarks_.changes_applied},
          {"database_uid", watermarks_.database_uid},
          {"embedder", watermarks_.embedder_tag},
          {"faiss_bytes", writer.data.size()},
          {"checksum", Checksum(writer.data.data(), writer.data.size())},
      }
          .dump();
  const std::string temporary = absl::StrCat(path, ".tmp.", getpid());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot write ", temporary, ": ", std::strerror(errno)));
  }
  const uint32_t header_bytes = static_cast<uint32_t>(header.size());
  std::string prefix(kMagic, 8);
  prefix.append(reinterpret_cast<const char*>(&header_bytes), 4);
  prefix += header;
  bool ok = true;
  for (const auto& [data, size] :
       {std::pair<const void*, size_t>{prefix.data(), prefix.size()},
        std::pair<const void*, size_t>{writer.data.data(), writer.data.size()}}) {
    const char* cursor = static_cast<const char*>(data);
    size_t left = size;
    while (ok && left > 0) {
      ssize_t written = ::write(fd, cursor, left);
      if (written <= 0) {
        ok = false;
        break;
      }
      cursor += written;
      left -= static_cast<size_t>(written);
    }
  }
  // No fsync: the file is a cache. A file torn by a power cut fails its checksum on load and
  // is rebuilt from SQLite, so durability would only buy time spent waiting on the disk.
  ::close(fd);
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return absl::UnavailableError(
        absl::StrCat("cannot write the vector index cache ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void VectorIndex::Add(absl::Span<const int64_t> ids, absl::Span<const float> vectors) {
  if (ids.empty()) return;
  index_->add_with_ids(static_cast<faiss::Index::idx_t>(ids.size()), vectors.data(), ids.data());
}

void VectorIndex::Remove(absl::Span<const int64_t> ids) {
  if (ids.empty()) return;
  faiss::IDSelectorBatch selector(static_cast<size_t>(ids.size()), ids.data());
  index_->remove_ids(selector);
}

// Searches run on the caller's thread with the AVX2 inner product over FAISS's own storage:
// Debian's FAISS is built for baseline x86-64 (scalar loops), exact search through BLAS copies
// the whole matrix for each single query, and its OpenMP regions spin-wait for a second
// thread, which on a loaded 2-core machine turned 5 ms searches into 100-1,300 ms ones
// (docs/benchmarks.md). Index kinds without a direct path (SQ8) use FAISS on one thread.
std::vector<std::pair<int64_t, float>> VectorIndex::Search(absl::Span<const float> query,
                                                           int k) const {
  const int64_t available = index_->ntotal;
  if (available == 0 || k <= 0) return {};
  const size_t dim = static_cast<size_t>(dim_);
  TopK top(static_cast<size_t>(std::min<int64_t>(k, available)));
  if (const auto* map = dynamic_cast<const faiss::IndexIDMap2*>(index_.get()); map != nullptr) {
    if (const auto* flat = dynamic_cast<const faiss::IndexFlat*>(map->index); flat != nullptr) {
      ScanRows(query.data(), flat->get_xb(), map->id_map.data(), static_cast<size_t>(available),
               dim, top);
      return top.Take();
    }
  }
  if (const auto* ivf = dynamic_cast<const faiss::IndexIVFFlat*>(index_.get()); ivf != nullptr) {
    if (const auto* centroids = dynamic_cast<const faiss::IndexFlat*>(ivf->quantizer);
        centroids != nullptr && ivf->metric_type == faiss::METRIC_INNER_PRODUCT) {
      std::vector<int64_t> list_numbers(ivf->nlist);
      for (size_t i = 0; i < ivf->nlist; ++i) list_numbers[i] = static_cast<int64_t>(i);
      TopK lists(std::min(ivf->nprobe, ivf->nlist));
      ScanRows(query.data(), centroids->get_xb(), list_numbers.data(), ivf->nlist, dim, lists);
      for (const auto& [list, unused] : lists.Take()) {
        const size_t size = ivf->invlists->list_size(static_cast<size_t>(list));
        if (size == 0) continue;
        faiss::InvertedLists::ScopedCodes codes(ivf->invlists, static_cast<size_t>(list));
        faiss::InvertedLists::ScopedIds ids(ivf->invlists, static_cast<size_t>(list));
        ScanRows(query.data(), reinterpret_cast<const float*>(codes.get()), ids.get(), size, dim,
                 top);
      }
      return top.Take();
    }
  }
  const int64_t wanted = std::min<int64_t>(k, available);
  std::vector<float> scores(static_cast<size_t>(wanted));
  std::vector<faiss::Index::idx_t> labels(static_cast<size_t>(wanted));
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  index_->search(1, query.data(), wanted, scores.data(), labels.data());
  omp_set_num_threads(threads);
  std::vector<std::pair<int64_t, float>> hits;
  for (int64_t i = 0; i < wanted; ++i) {
    if (labels[i] >= 0) hits.emplace_back(labels[i], scores[i]);
  }
  return hits;
}

int64_t VectorIndex::size() const { return index_->ntotal; }

}  // namespace llive::memory
