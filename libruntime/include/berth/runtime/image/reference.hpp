// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <string>
#include <string_view>

namespace berth::runtime::image {

/// An image reference, normalised as Docker does:
/// `nginx` is docker.io/library/nginx:latest, `localhost:5000/a/b@sha256:…`
/// keeps its registry and has no tag.
struct Reference {
  std::string domain;  ///< "docker.io", "registry.example:5000", "localhost"
  std::string path;    ///< "library/nginx"
  std::string tag;     ///< "latest" when neither a tag nor a digest was given; "" with a digest alone
  std::string digest;  ///< "sha256:<64 hex>" or ""

  /// "docker.io/library/nginx"
  [[nodiscard]] std::string name() const { return domain + "/" + path; }
  /// The whole normalised reference: name, then ":tag" and/or "@digest".
  [[nodiscard]] std::string to_string() const;
  /// As a Docker user writes it: "nginx:latest", "alice/app:1", "localhost:5000/x:1".
  [[nodiscard]] std::string familiar() const;
  friend bool operator==(const Reference&, const Reference&) = default;
};

/// Parses `[registry[:port]/]repository[:tag][@sha256:…]` (the distribution
/// project's grammar): lowercase path components separated by '/', each of
/// letters and digits joined by '.', '_', '__' or dashes; a first component
/// with a '.' or a ':', or "localhost", is the registry; a tag of at most 128
/// word characters, '.' and '-'; a name of at most 255 characters. One error
/// names what is wrong. Untrusted input: fuzzed.
[[nodiscard]] core::Result<Reference> parse_reference(std::string_view text);

/// True for "sha256:" and 64 lowercase hexadecimal digits.
[[nodiscard]] bool is_sha256_digest(std::string_view digest) noexcept;

}  // namespace berth::runtime::image
