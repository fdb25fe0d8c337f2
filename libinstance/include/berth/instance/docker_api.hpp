// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

/// The few Docker Engine API calls dockyard needs (is the socket answering,
/// which containers exist, remove one), over the instance's unix socket.
/// HTTP/1.0, one request per connection: the daemon then answers without
/// chunking and closes, so the reply ends where the stream ends.
namespace berth::instance {

struct HttpReply {
  int status = 0;
  std::string body;
};

/// Parses a whole HTTP/1.x reply (status line, headers, body). Untrusted input: fuzzed.
[[nodiscard]] core::Result<HttpReply> parse_http_reply(std::string_view raw);

/// The container ids in a GET /containers/json reply body. Untrusted input: fuzzed.
[[nodiscard]] core::Result<std::vector<std::string>> parse_container_list(std::string_view body);

/// Sends one request and reads the whole reply, within `timeout`.
[[nodiscard]] core::Result<HttpReply> docker_request(const std::filesystem::path& socket, std::string_view method,
                                                     std::string_view target, std::chrono::milliseconds timeout);

/// True when something listens on the unix socket (containerd's gRPC socket, say).
[[nodiscard]] bool accepts_connections(const std::filesystem::path& socket);

/// True when GET /_ping answers 200 "OK".
[[nodiscard]] bool docker_answers(const std::filesystem::path& socket,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(2));

/// Ids of every container, running or not (GET /containers/json?all=1).
[[nodiscard]] core::Result<std::vector<std::string>> list_containers(const std::filesystem::path& socket);

/// Removes a container, killing it first when it runs (DELETE ?force=1&v=1).
[[nodiscard]] core::Result<void> remove_container(const std::filesystem::path& socket, std::string_view id);

}  // namespace berth::instance
