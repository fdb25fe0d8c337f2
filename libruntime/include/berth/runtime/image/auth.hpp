// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// Registry authentication as Docker does it: the `WWW-Authenticate`
/// challenge of a 401, and the credentials Docker users keep in
/// `~/.docker/config.json`.
namespace berth::runtime::image {

/// One challenge: `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"`.
struct Challenge {
  std::string scheme;                         ///< lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  ///< keys lower-cased
};

/// Parses a `WWW-Authenticate` header (RFC 7235: schemes with quoted or
/// plain parameters, several challenges separated by commas). Untrusted
/// input: fuzzed.
[[nodiscard]] core::Result<std::vector<Challenge>> parse_www_authenticate(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;
  friend bool operator==(const Credentials&, const Credentials&) = default;
};

/// The `auths` of a Docker config.json: registry -> credentials, from
/// "auth" (base64 of "user:password") or "username" and "password". Docker
/// Hub's entry is kept under "docker.io" whichever spelling the file uses
/// ("https://index.docker.io/v1/" as `docker login` writes it). Entries of
/// credential helpers are left out. Untrusted input: fuzzed.
[[nodiscard]] core::Result<std::map<std::string, Credentials>> parse_docker_config(std::string_view json);

/// The credentials for `registry` ("docker.io", "localhost:5000") in the
/// config file `file`; nullopt when the file or the entry is missing.
[[nodiscard]] core::Result<std::optional<Credentials>> credentials_for(const std::filesystem::path& file,
                                                                       std::string_view registry);

/// base64 (RFC 4648), as Basic authentication and config.json use it.
[[nodiscard]] std::string base64_encode(std::string_view data);
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

}  // namespace berth::runtime::image
