// GgufWriter: header, metadata, tensor infos with aligned offsets, padding, tensor data.
#include "backends/native/gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "backends/native/dtype.h"

namespace llive::backends::native {
namespace {

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

template <typename Sink, typename T>
void Put(Sink& sink, T value) {
  sink(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename Sink>
void PutString(Sink& sink, absl::string_view text) {
  Put<Sink, uint64_t>(sink, text.size());
  sink(text.data(), text.size());
}

template <typename Sink>
void PutValue(Sink& sink, const GgufValue& value) {
  switch (value.type) {
    case GgufType::kUint8:
      return Put(sink, static_cast<uint8_t>(value.unsigned_value));
    case GgufType::kInt8:
      return Put(sink, static_cast<int8_t>(value.signed_value));
    case GgufType::kUint16:
      return Put(sink, static_cast<uint16_t>(value.unsigned_value));
    case GgufType::kInt16:
      return Put(sink, static_cast<int16_t>(value.signed_value));
    case GgufType::kUint32:
      return Put(sink, static_cast<uint32_t>(value.unsigned_value));
    case GgufType::kInt32:
      return Put(sink, static_cast<int32_t>(value.signed_value));
    case GgufType::kUint64:
      return Put(sink, value.unsigned_value);
    case GgufType::kInt64:
      return Put(sink, value.signed_value);
    case GgufType::kFloat32:
      return Put(sink, static_cast<float>(value.float_value));
    case GgufType::kFloat64:
      return Put(sink, value.float_value);
    case GgufType::kBool:
      return Put(sink, static_cast<uint8_t>(value.bool_value ? 1 : 0));
    case GgufType::kString:
      return PutString(sink, value.string_value);
    case GgufType::kArray:
      Put(sink, static_cast<uint32_t>(value.element_type));
      Put(sink, static_cast<uint64_t>(value.items.size()));
      for (const GgufValue& item : value.items) PutValue(sink, item);
      return;
  }
}

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  if (alignment_ != kGgufDefaultAlignment) {
    Set("general.alignment", GgufValue::Uint32(alignment_));
  }
}

void GgufWriter::Set(absl::string_view key, GgufValue value) {
  for (auto& [name, existing] : metadata_) {
    if (name == key) {
      existing = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::string(key), std::move(value));
}

absl::Status GgufWriter::Check(absl::string_view name, DType dtype,
                               const std::vector<int64_t>& shape, size_t bytes) const {
  for (const Tensor& tensor : tensors_) {
    if (tensor.name == name) {
      return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\" was added twice"));
    }
  }
  if (!GgmlTypeOf(dtype).has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor \"", name, "\": GGUF has no ", DTypeName(dtype), " type"));
  }
  if (shape.size() > kGgufMaxDims) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\" has ", shape.size(),
                                                   " dimensions; GGUF allows at most 4"));
  }
  int64_t elements = 1;
  for (int64_t dim : shape) {
    if (dim < 0 || __builtin_mul_overflow(elements, dim, &elements)) {
      return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\" has a bad shape"));
    }
  }
  if (dtype == DType::kQ8_0 && (shape.empty() ? 1 : shape.back()) % kQ8_0BlockValues != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor \"", name, "\": Q8_0 needs rows (the last dimension) of a multiple of 32 values"));
  }
  std::optional<size_t> expected = DTypeBytes(dtype, elements);
  if (!expected.has_value() || *expected != bytes) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\": ", bytes,
                                                   " bytes given for a shape that needs ",
                                                   expected.value_or(0)));
  }
  return absl::OkStatus();
}

absl::Status GgufWriter::AddTensor(absl::string_view name, DType dtype, std::vector<int64_t> shape,
                                   std::vector<uint8_t> bytes) {
  if (absl::Status s = Check(name, dtype, shape, bytes.size()); !s.ok()) return s;
  Tensor tensor{std::string(name), dtype, std::move(shape), std::move(bytes), {}};
  tensors_.push_back(std::move(tensor));
  tensors_.back().bytes = tensors_.back().owned;
  return absl::OkStatus();
}

absl::Status GgufWriter::AddTensorView(absl::string_view name, DType dtype,
                                       std::vector<int64_t> shape,
                                       absl::Span<const uint8_t> bytes) {
  if (absl::Status s = Check(name, dtype, shape, bytes.size()); !s.ok()) return s;
  tensors_.push_back(Tensor{std::string(name), dtype, std::move(shape), {}, bytes});
  return absl::OkStatus();
}

absl::Status GgufWriter::AddFloat32Tensor(absl::string_view name, std::vector<int64_t> shape,
                                          absl::Span<const float> values, DType store_as) {
  if (store_as != DType::kF32 && store_as != DType::kF16 && store_as != DType::kBF16 &&
      store_as != DType::kQ8_0) {
    return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\": cannot store as ",
                                                   DTypeName(store_as),
                                                   "; choose F32, F16, BF16 or Q8_0"));
  }
  if (store_as == DType::kQ8_0 && (shape.empty() ? 1 : shape.back()) % kQ8_0BlockValues != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor \"", name, "\": Q8_0 needs rows (the last dimension) of a multiple of 32 values"));
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = ConvertFromFloat32(values, store_as);
  if (!bytes.ok()) return bytes.status();
  return AddTensor(name, store_as, std::move(shape), *std::move(bytes));
}

template <typename Sink>
void GgufWriter::Emit(Sink& sink) const {
  uint64_t position = 0;
  auto counted = [&sink, &position](const char* data, size_t size) {
    sink(data, size);
    position += size;
  };
  Put(counted, kGgufMagic);
  Put(counted, kGgufVersion);
  Put(counted, static_cast<uint64_t>(tensors_.size()));
  Put(counted, static_cast<uint64_t>(metadata_.size()));
  for (const auto& [key, value] : metadata_) {
    PutString(counted, key);
    Put(counted, static_cast<uint32_t>(value.type));
    PutValue(counted, value);
  }
  uint64_t offset = 0;
  for (const Tensor& tensor : tensors_) {
    PutString(counted, tensor.name);
    // GGUF stores the innermost dimension first; a scalar is one element of one dimension.
    std::vector<int64_t> dims(tensor.shape.rbegin(), tensor.shape.rend());
    if (dims.empty()) dims.push_back(1);
    Put(counted, static_cast<uint32_t>(dims.size()));
    for (int64_t dim : dims) Put(counted, static_cast<uint64_t>(dim));
    Put(counted, *GgmlTypeOf(tensor.dtype));
    Put(counted, offset);
    offset = AlignUp(offset + tensor.bytes.size(), alignment_);
  }
  static const char kZeros[256] = {};
  auto pad = [&](uint64_t to) {
    while (position < to) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(to - position, sizeof(kZeros)));
      counted(kZeros, chunk);
    }
  };
  pad(AlignUp(position, alignment_));
  uint64_t data_start = position;
  for (const Tensor& tensor : tensors_) {
    counted(reinterpret_cast<const char*>(tensor.bytes.data()), tensor.bytes.size());
    pad(data_start + AlignUp(position - data_start, alignment_));
  }
}

std::string GgufWriter::Serialize() const {
  std::string out;
  auto sink = [&out](const char* data, size_t size) { out.append(data, size); };
  Emit(sink);
  return out;
}

absl::Status GgufWriter::WriteFile(const std::string& path) const {
  std::string temporary = path + ".partial";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", temporary, ": ", std::strerror(errno)));
  }
  bool failed = false;
  auto sink = [file, &failed](const char* data, size_t size) {
    if (!failed && size > 0 && std::fwrite(data, 1, size, file) != size) failed = true;
  };
  Emit(sink);
  if (std::fclose(file) != 0) failed = true;
  std::error_code error;
  if (!failed) std::filesystem::rename(temporary, path, error);
  if (failed || error) {
    std::filesystem::remove(temporary, error);
    return absl::UnavailableError(
        absl::StrCat("cannot write ", path, ": the disk is full or not writable"));
  }
  return absl::OkStatus();
}

}  // namespace llive::backends::native
