// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/net/address.hpp"
#include "berth/runtime/daemon/health.hpp"

#include <chrono>
#include <filesystem>

/// The network probes of a health check, made from inside the container's
/// network namespace: they reach what listens only on the container's own
/// loopback, and an internal network's containers, which the host's
/// namespace cannot.
namespace berth::runtime::daemon {

/// Passes when a TCP connection to `address:port` is accepted within `timeout`.
[[nodiscard]] ProbeResult probe_tcp(const std::filesystem::path& netns, const net::IpAddress& address, int port,
                                    std::chrono::milliseconds timeout);

/// Passes when `GET url.path` answers 200-399 within `timeout`; the host is
/// `url.host`, or `container` when the URL names none.
[[nodiscard]] ProbeResult probe_http(const std::filesystem::path& netns, const net::IpAddress& container,
                                     const HealthUrl& url, std::chrono::milliseconds timeout);

/// The status code of an HTTP/1.x response that starts with `head`
/// ("HTTP/1.1 204 No Content\r\n..."); nullopt when it is not one.
[[nodiscard]] std::optional<int> http_status(std::string_view head);

}  // namespace berth::runtime::daemon
