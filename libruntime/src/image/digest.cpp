// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/image/digest.hpp"

#include "berth/core/error.hpp"

#include <openssl/evp.h>

namespace berth::runtime::image {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  BERTH_ASSERT(impl_->ctx != nullptr && EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) == 1);
}
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;
Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) {
  if (!data.empty()) BERTH_ASSERT(EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) == 1);
}

std::string Sha256::digest() const {
  // Finalising consumes a context: finish a copy, so the hash can go on.
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  BERTH_ASSERT(copy != nullptr && EVP_MD_CTX_copy_ex(copy, impl_->ctx) == 1);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  BERTH_ASSERT(EVP_DigestFinal_ex(copy, out, &len) == 1);
  EVP_MD_CTX_free(copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    s += kHex[out[i] >> 4];
    s += kHex[out[i] & 15];
  }
  return s;
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

}  // namespace berth::runtime::image
