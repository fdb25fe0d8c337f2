// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace berth::runtime::image {

/// SHA-256 over data fed piece by piece (OpenSSL's EVP), for blobs and
/// layers checked as they stream past. Not thread-safe; movable.
class Sha256 {
public:
  Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  ~Sha256();

  void update(std::string_view data);
  void update(std::span<const unsigned char> data) {
    update(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  }
  /// "sha256:<64 lowercase hex>" of everything fed so far (the hash goes on).
  [[nodiscard]] std::string digest() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The digest of `data` in one call.
[[nodiscard]] std::string sha256_digest(std::string_view data);

/// The 64 hex digits of a "sha256:…" digest (what names a blob's file).
[[nodiscard]] inline std::string_view digest_hex(std::string_view digest) { return digest.substr(7); }

}  // namespace berth::runtime::image
