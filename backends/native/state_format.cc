// Writing and checking serialised recurrent states.
#include "backends/native/state_format.h"

#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace llive::backends::native {
namespace {

constexpr absl::string_view kMagic = "LLIVESTA";
constexpr size_t kChecksumBytes = 32;

std::array<unsigned char, kChecksumBytes> Sha256(absl::string_view bytes) {
  std::array<unsigned char, kChecksumBytes> digest{};
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

template <typename T>
void Put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void PutString(std::string& out, absl::string_view text) {
  Put<uint32_t>(out, static_cast<uint32_t>(text.size()));
  out.append(text.data(), text.size());
}

// Reads the fields in order; any read past the end marks the reader failed.
class Reader {
 public:
  explicit Reader(absl::string_view bytes) : bytes_(bytes) {}

  template <typename T>
  bool Get(T& value) {
    if (bytes_.size() - offset_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return true;
  }
  bool GetString(std::string& text) {
    uint32_t length = 0;
    if (!Get(length) || bytes_.size() - offset_ < length) return false;
    text.assign(bytes_.data() + offset_, length);
    offset_ += length;
    return true;
  }
  // The bytes of the next `count` floats (unaligned), stepped over.
  bool TakeFloats(size_t count, absl::string_view& values) {
    if ((bytes_.size() - offset_) / sizeof(float) < count) return false;
    values = bytes_.substr(offset_, count * sizeof(float));
    offset_ += count * sizeof(float);
    return true;
  }
  bool AtEnd() const { return offset_ == bytes_.size(); }

 private:
  absl::string_view bytes_;
  size_t offset_ = 0;
};

absl::Status Truncated(absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("state blob is truncated or corrupt (while reading ", what, ")"));
}

}  // namespace

std::string Sha256Hex(absl::string_view bytes) {
  const auto digest = Sha256(bytes);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string SerializeStateView(const ModelInfo& info, int64_t position, const StateView& view) {
  std::string out(kMagic);
  Put<uint32_t>(out, kStateFormatVersion);
  PutString(out, info.architecture);
  PutString(out, info.fingerprint);
  Put<int64_t>(out, position);
  Put<uint32_t>(out, static_cast<uint32_t>(view.tensors.size()));
  for (const StateTensor& tensor : view.tensors) {
    PutString(out, tensor.name);
    PutString(out, tensor.kind);
    Put<int32_t>(out, tensor.layer);
    Put<uint32_t>(out, static_cast<uint32_t>(tensor.shape.size()));
    int64_t elements = 1;
    for (int64_t dim : tensor.shape) {
      Put<int64_t>(out, dim);
      elements *= dim;
    }
    out.append(reinterpret_cast<const char*>(tensor.data), elements * sizeof(float));
  }
  const auto checksum = Sha256(out);
  out.append(reinterpret_cast<const char*>(checksum.data()), checksum.size());
  return out;
}

absl::StatusOr<int64_t> DeserializeStateView(absl::string_view bytes, const ModelInfo& info,
                                             StateView& into) {
  if (bytes.size() < kMagic.size() + kChecksumBytes || bytes.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError(
        "not an llive state blob (bad magic or too short): was it written by SerializeState?");
  }
  const absl::string_view body = bytes.substr(0, bytes.size() - kChecksumBytes);
  const auto checksum = Sha256(body);
  if (std::memcmp(checksum.data(), bytes.data() + body.size(), kChecksumBytes) != 0) {
    return absl::DataLossError("state blob checksum mismatch: the bytes were changed or cut");
  }
  Reader reader(body.substr(kMagic.size()));
  uint32_t version = 0;
  if (!reader.Get(version)) return Truncated("version");
  if (version != kStateFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat("state format version ", version,
                                                      " is not supported (this llive reads ",
                                                      kStateFormatVersion, ")"));
  }
  std::string architecture, fingerprint;
  if (!reader.GetString(architecture)) return Truncated("architecture");
  if (!reader.GetString(fingerprint)) return Truncated("fingerprint");
  if (architecture != info.architecture) {
    return absl::FailedPreconditionError(absl::StrCat("state was made by a '", architecture,
                                                      "' model and cannot be restored into a '",
                                                      info.architecture, "' model"));
  }
  if (fingerprint != info.fingerprint) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state was made by a different model (fingerprint ", fingerprint.substr(0, 16),
        "..., this model ", info.fingerprint.substr(0, 16), "...): restore it into that model"));
  }
  int64_t position = 0;
  uint32_t count = 0;
  if (!reader.Get(position) || position < 0) return Truncated("position");
  if (!reader.Get(count)) return Truncated("tensor count");
  if (count != into.tensors.size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("state has ", count, " tensors, the model's state has ", into.tensors.size()));
  }
  // Every header is checked before any value is copied: a blob refused at its last tensor
  // leaves the model's state as it was.
  std::vector<absl::string_view> values(into.tensors.size());
  for (size_t t = 0; t < into.tensors.size(); ++t) {
    const StateTensor& tensor = into.tensors[t];
    std::string name, kind;
    int32_t layer = 0;
    uint32_t rank = 0;
    if (!reader.GetString(name) || !reader.GetString(kind) || !reader.Get(layer) ||
        !reader.Get(rank)) {
      return Truncated(absl::StrCat("tensor header of ", tensor.name));
    }
    // The rank is checked against the model before anything is sized by it: a corrupt count
    // must not become a huge allocation.
    if (rank != tensor.shape.size()) {
      return absl::FailedPreconditionError(absl::StrCat("state tensor '", name, "' has rank ", rank,
                                                        ", the model's '", tensor.name,
                                                        "' has rank ", tensor.shape.size()));
    }
    std::vector<int64_t> shape(rank);
    for (int64_t& dim : shape) {
      if (!reader.Get(dim)) return Truncated(absl::StrCat("shape of ", name));
    }
    if (name != tensor.name || shape != tensor.shape) {
      return absl::FailedPreconditionError(absl::StrCat("state tensor '", name,
                                                        "' does not match the model's '",
                                                        tensor.name, "' (name or shape)"));
    }
    // Kind and layer are written from the model's view, so a blob that restores must carry
    // the model's own: otherwise saving right after restoring would give other bytes.
    if (kind != tensor.kind || layer != tensor.layer) {
      return absl::FailedPreconditionError(
          absl::StrCat("state tensor '", name, "' is kind '", kind, "' of layer ", layer,
                       ", the model's is kind '", tensor.kind, "' of layer ", tensor.layer));
    }
    int64_t elements = 1;
    for (int64_t dim : shape) elements *= dim;
    if (!reader.TakeFloats(static_cast<size_t>(elements), values[t])) {
      return Truncated(absl::StrCat("values of ", name));
    }
  }
  if (!reader.AtEnd()) return absl::DataLossError("state blob has trailing bytes");
  for (size_t t = 0; t < into.tensors.size(); ++t) {
    if (!values[t].empty()) std::memcpy(into.tensors[t].data, values[t].data(), values[t].size());
  }
  return position;
}

}  // namespace llive::backends::native
