// SHA-256 of bytes, as lowercase hex (OpenSSL's EVP digest).
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace llive::memory {

std::string Sha256Hex(absl::string_view bytes);

}  // namespace llive::memory
