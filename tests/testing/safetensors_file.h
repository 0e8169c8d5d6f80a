// Builds safetensors files byte by byte for tests, including deliberately broken ones.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace llive::testing {

class SafetensorsBuilder {
 public:
  // Appends a tensor whose bytes follow the previous one's.
  SafetensorsBuilder& Add(const std::string& name, const std::string& dtype,
                          std::vector<int64_t> shape, const std::string& bytes) {
    header_[name] = {{"dtype", dtype},
                     {"shape", shape},
                     {"data_offsets", {data_.size(), data_.size() + bytes.size()}}};
    data_ += bytes;
    return *this;
  }
  SafetensorsBuilder& AddFloats(const std::string& name, std::vector<int64_t> shape,
                                const std::vector<float>& values) {
    std::string bytes(values.size() * sizeof(float), '\0');
    if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    return Add(name, "F32", std::move(shape), bytes);
  }
  // The header as JSON, to edit before Build() for broken files.
  nlohmann::json& header() { return header_; }
  std::string& data() { return data_; }

  std::string Build() const {
    std::string json = header_.dump();
    uint64_t length = json.size();
    std::string out(reinterpret_cast<const char*>(&length), 8);
    return out + json + data_;
  }
  void Write(const std::string& path) const { std::ofstream(path, std::ios::binary) << Build(); }

 private:
  nlohmann::json header_ = nlohmann::json::object();
  std::string data_;
};

inline std::string FloatBytes(const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

}  // namespace llive::testing
