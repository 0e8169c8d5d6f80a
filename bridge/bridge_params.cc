// Byte format of fitted bridge parameters.
#include "bridge/bridge_params.h"

#include <openssl/sha.h>

#include <climits>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace llive::bridge {
namespace {

constexpr absl::string_view kMagic = "LLBRIDGE";
constexpr size_t kDigestBytes = SHA256_DIGEST_LENGTH;

class Writer {
 public:
  void U32(uint32_t value) { Raw(&value, sizeof value); }
  void U64(uint64_t value) { Raw(&value, sizeof value); }
  void I64(int64_t value) { Raw(&value, sizeof value); }
  void F64(double value) { Raw(&value, sizeof value); }
  void String(absl::string_view text) {
    U64(text.size());
    out_.append(text.data(), text.size());
  }
  void Doubles(const std::vector<double>& values) {
    U64(values.size());
    for (double value : values) F64(value);
  }
  std::string& bytes() { return out_; }

 private:
  // The format is little-endian; llive builds for little-endian hosts only (x86-64, arm64).
  void Raw(const void* data, size_t size) { out_.append(static_cast<const char*>(data), size); }
  std::string out_;
};

class Reader {
 public:
  explicit Reader(absl::string_view bytes) : bytes_(bytes) {}
  bool U32(uint32_t& value) { return Raw(&value, sizeof value); }
  bool U64(uint64_t& value) { return Raw(&value, sizeof value); }
  bool I64(int64_t& value) { return Raw(&value, sizeof value); }
  bool F64(double& value) { return Raw(&value, sizeof value); }
  bool String(std::string& text) {
    uint64_t size = 0;
    if (!U64(size) || size > bytes_.size() - position_) return false;
    text.assign(bytes_.data() + position_, size);
    position_ += size;
    return true;
  }
  bool Doubles(std::vector<double>& values) {
    uint64_t count = 0;
    if (!U64(count) || count > (bytes_.size() - position_) / sizeof(double)) return false;
    values.resize(count);
    for (double& value : values) F64(value);
    return true;
  }
  // A count of items of at least `item_bytes` each that the rest of the payload can hold.
  bool Count(uint64_t& count, size_t item_bytes) {
    return U64(count) && count <= (bytes_.size() - position_) / item_bytes;
  }
  bool done() const { return position_ == bytes_.size(); }

 private:
  bool Raw(void* data, size_t size) {
    if (size > bytes_.size() - position_) return false;
    std::memcpy(data, bytes_.data() + position_, size);
    position_ += size;
    return true;
  }
  absl::string_view bytes_;
  size_t position_ = 0;
};

std::string Sha256(absl::string_view bytes) {
  unsigned char digest[kDigestBytes];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), kDigestBytes);
}

bool AllFinite(const std::vector<double>& values) {
  for (double value : values) {
    if (!std::isfinite(value)) return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateBridgeParams(const BridgeParams& params) {
  const size_t d = static_cast<size_t>(params.layout.size());
  if (d == 0) return absl::InvalidArgumentError("bridge parameters select no state features");
  for (const FeatureSegment& segment : params.layout.segments) {
    if (segment.begin < 0 || segment.step < 1 || segment.count < 1) {
      return absl::InvalidArgumentError(absl::StrCat("feature segment of \"", segment.tensor,
                                                     "\" has begin ", segment.begin, ", step ",
                                                     segment.step, ", count ", segment.count));
    }
  }
  if (params.standardizer.mean.size() != d || params.standardizer.scale.size() != d) {
    return absl::InvalidArgumentError(
        absl::StrCat("standardiser has ", params.standardizer.mean.size(), " means and ",
                     params.standardizer.scale.size(), " scales for ", d, " features"));
  }
  if (!AllFinite(params.standardizer.mean) || !AllFinite(params.standardizer.scale)) {
    return absl::InvalidArgumentError("standardiser holds a non-finite number");
  }
  for (double scale : params.standardizer.scale) {
    if (!(scale > 0)) return absl::InvalidArgumentError("standardiser holds a scale <= 0");
  }
  if (params.probes.size() != static_cast<size_t>(kFactorCount)) {
    return absl::InvalidArgumentError(absl::StrCat("bridge parameters hold ", params.probes.size(),
                                                   " probes, not ", kFactorCount));
  }
  for (int f = 0; f < kFactorCount; ++f) {
    const FactorProbe& probe = params.probes[f];
    if (probe.weights.size() != d || !AllFinite(probe.weights) || !std::isfinite(probe.bias)) {
      return absl::InvalidArgumentError(absl::StrCat("probe of \"", Factors()[f].id, "\" has ",
                                                     probe.weights.size(), " weights for ", d,
                                                     " features or a non-finite number"));
    }
  }
  for (const auto& [name, target] : params.personas) {
    for (float score : target) {
      if (!(score >= 0.0f && score <= 1.0f)) {
        return absl::InvalidArgumentError(
            absl::StrCat("persona \"", name, "\" has a score outside [0, 1]: ", score));
      }
    }
  }
  return absl::OkStatus();
}

std::string SerializeBridgeParams(const BridgeParams& params) {
  Writer payload;
  payload.String(params.architecture);
  payload.String(params.model_fingerprint);
  payload.U64(params.spec.layers.size());
  for (int layer : params.spec.layers) payload.I64(layer);
  payload.U64(params.spec.kinds.size());
  for (const std::string& kind : params.spec.kinds) payload.String(kind);
  payload.I64(params.spec.max_features);
  payload.U64(params.layout.segments.size());
  for (const FeatureSegment& segment : params.layout.segments) {
    payload.String(segment.tensor);
    payload.I64(segment.begin);
    payload.I64(segment.step);
    payload.I64(segment.count);
  }
  payload.Doubles(params.standardizer.mean);
  payload.Doubles(params.standardizer.scale);
  payload.U64(params.probes.size());
  for (const FactorProbe& probe : params.probes) {
    payload.U32(probe.method == ProbeMethod::kRidge ? 0 : 1);
    payload.F64(probe.lambda);
    payload.Doubles(probe.weights);
    payload.F64(probe.bias);
  }
  payload.U64(params.personas.size());
  for (const auto& [name, target] : params.personas) {
    payload.String(name);
    for (float score : target) payload.F64(score);
  }
  Writer out;
  out.bytes().append(kMagic.data(), kMagic.size());
  out.U32(kBridgeParamsVersion);
  out.U64(payload.bytes().size());
  out.bytes() += payload.bytes();
  out.bytes() += Sha256(out.bytes());
  return std::move(out.bytes());
}

absl::StatusOr<BridgeParams> ParseBridgeParams(absl::string_view bytes) {
  const size_t header = kMagic.size() + sizeof(uint32_t) + sizeof(uint64_t);
  if (bytes.size() < header + kDigestBytes || bytes.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError("not bridge parameters (no LLBRIDGE header)");
  }
  Reader head(bytes.substr(kMagic.size(), header - kMagic.size()));
  uint32_t version = 0;
  uint64_t payload_size = 0;
  head.U32(version);
  head.U64(payload_size);
  if (payload_size != bytes.size() - header - kDigestBytes) {
    return absl::DataLossError(
        absl::StrCat("bridge parameters are truncated or padded: ", bytes.size(),
                     " bytes for a payload of ", payload_size));
  }
  if (Sha256(bytes.substr(0, bytes.size() - kDigestBytes)) !=
      bytes.substr(bytes.size() - kDigestBytes)) {
    return absl::DataLossError("bridge parameters fail their SHA-256 check (corrupt bytes)");
  }
  if (version != kBridgeParamsVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bridge parameters are format version ", version, "; this build reads version ",
        kBridgeParamsVersion, "; refit them with `llive bridge fit`"));
  }
  Reader in(bytes.substr(header, payload_size));
  BridgeParams params;
  const auto corrupt = [] {
    return absl::DataLossError("bridge parameters: inconsistent payload");
  };
  uint64_t count = 0;
  if (!in.String(params.architecture) || !in.String(params.model_fingerprint)) return corrupt();
  if (!in.Count(count, sizeof(int64_t))) return corrupt();
  for (uint64_t i = 0; i < count; ++i) {
    int64_t layer = 0;
    in.I64(layer);
    // Layers are ints; one that does not fit would come back as another layer.
    if (layer < INT_MIN || layer > INT_MAX) {
      return absl::DataLossError(
          absl::StrCat("bridge parameters: layer ", layer, " is outside the range of an int"));
    }
    params.spec.layers.push_back(static_cast<int>(layer));
  }
  if (!in.Count(count, sizeof(uint64_t))) return corrupt();
  params.spec.kinds.clear();
  for (uint64_t i = 0; i < count; ++i) {
    std::string kind;
    if (!in.String(kind)) return corrupt();
    params.spec.kinds.push_back(kind);
  }
  if (!in.I64(params.spec.max_features)) return corrupt();
  if (!in.Count(count, sizeof(uint64_t) + 3 * sizeof(int64_t))) return corrupt();
  for (uint64_t i = 0; i < count; ++i) {
    FeatureSegment segment;
    if (!in.String(segment.tensor) || !in.I64(segment.begin) || !in.I64(segment.step) ||
        !in.I64(segment.count)) {
      return corrupt();
    }
    params.layout.segments.push_back(segment);
  }
  if (!in.Doubles(params.standardizer.mean) || !in.Doubles(params.standardizer.scale)) {
    return corrupt();
  }
  if (!in.Count(count, sizeof(uint32_t) + 3 * sizeof(double))) return corrupt();
  for (uint64_t i = 0; i < count; ++i) {
    FactorProbe probe;
    uint32_t method = 0;
    if (!in.U32(method) || method > 1 || !in.F64(probe.lambda) || !in.Doubles(probe.weights) ||
        !in.F64(probe.bias)) {
      return corrupt();
    }
    probe.method = method == 0 ? ProbeMethod::kRidge : ProbeMethod::kDifferenceOfMeans;
    params.probes.push_back(std::move(probe));
  }
  if (!in.Count(count, sizeof(uint64_t) + kFactorCount * sizeof(double))) return corrupt();
  for (uint64_t i = 0; i < count; ++i) {
    std::string name;
    ThoughtVector target{};
    if (!in.String(name)) return corrupt();
    if (params.personas.contains(name)) {
      return absl::DataLossError(
          absl::StrCat("bridge parameters: persona \"", name, "\" appears twice"));
    }
    for (float& score : target) {
      double value = 0;
      if (!in.F64(value)) return corrupt();
      // Scores are floats written as doubles; any other double was not written by llive and
      // would not survive being saved again.
      if (static_cast<double>(static_cast<float>(value)) != value) {
        return absl::DataLossError(absl::StrCat("bridge parameters: persona \"", name,
                                                "\" has the score ", value,
                                                ", which is not a float value"));
      }
      score = static_cast<float>(value);
    }
    params.personas[name] = target;
  }
  if (!in.done()) return corrupt();
  if (absl::Status valid = ValidateBridgeParams(params); !valid.ok()) {
    return absl::DataLossError(absl::StrCat("bridge parameters: ", valid.message()));
  }
  return params;
}

}  // namespace llive::bridge
