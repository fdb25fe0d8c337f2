// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace berth::runtime::docker {

/// The Docker Engine API of one dockerd, over its unix socket: the calls
/// berth makes (dockyard's status and destroy today; the docker runtime
/// mode's sidecars next). Implementations: `make_engine` (HTTP/1.1 on the
/// socket); tests use fakes (tests/mocks). Not thread-safe.
class Engine {
public:
  virtual ~Engine() = default;
  /// The socket it talks to.
  [[nodiscard]] virtual const std::filesystem::path& socket() const = 0;
  /// True when GET /_ping answers 200 "OK" within `timeout`.
  [[nodiscard]] virtual bool ping(std::chrono::milliseconds timeout) = 0;
  /// The ids of every container, running or not.
  [[nodiscard]] virtual core::Result<std::vector<std::string>> list_containers() = 0;
  /// Removes a container, killing it first when it runs, with its anonymous
  /// volumes; one that is gone already is fine.
  [[nodiscard]] virtual core::Result<void> remove_container(std::string_view id) = 0;
};

/// Makes the engine client of a dockerd socket.
using EngineFactory = std::function<std::unique_ptr<Engine>(const std::filesystem::path& socket)>;

/// The Engine API over HTTP/1.1 on `socket` (core::http).
[[nodiscard]] std::unique_ptr<Engine> make_engine(const std::filesystem::path& socket);

/// True for a Docker container id: 1 to 128 hexadecimal digits.
[[nodiscard]] bool is_container_id(std::string_view id) noexcept;

/// The container ids in a GET /containers/json reply body; ids that are not
/// hexadecimal are left out (they would end up in a request target).
/// Untrusted input: fuzzed.
[[nodiscard]] core::Result<std::vector<std::string>> parse_container_list(std::string_view body);

}  // namespace berth::runtime::docker
