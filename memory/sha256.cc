// SHA-256 through OpenSSL, which uses the CPU's SHA extensions where present.
#include "memory/sha256.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"

namespace llive::memory {

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace llive::memory
