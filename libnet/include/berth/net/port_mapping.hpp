// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::net {

enum class Protocol { Tcp, Udp, Sctp };

[[nodiscard]] std::string_view protocol_name(Protocol p) noexcept;
/// "tcp", "udp" or "sctp" (any case); anything else is an error naming it.
[[nodiscard]] core::Result<Protocol> parse_protocol(std::string_view text);
/// The IP protocol number (IPPROTO_TCP, ...).
[[nodiscard]] std::uint8_t protocol_number(Protocol p) noexcept;

/// A published port, as a user asks for it: host port (or range) to container
/// port (or range of the same length), optionally on one host address.
/// Ports are ints so that out-of-range input can be reported, not wrapped.
struct PortMapping {
  std::optional<IpAddress> host_address;  ///< nullopt: every address of the host
  Protocol protocol = Protocol::Tcp;
  int host_port = 0;
  int container_port = 0;
  int count = 1;  ///< ports in the range, starting at host_port / container_port
  friend bool operator==(const PortMapping&, const PortMapping&) = default;
};

/// Checks ports (1 to 65535) and the range; errors name the mapping.
[[nodiscard]] core::Result<void> validate(const PortMapping& m);
/// "0.0.0.0:8080->80/tcp" style text for messages.
[[nodiscard]] std::string to_string(const PortMapping& m);
/// Parses Docker's `-p` syntax: [HOST_ADDR:]HOST_PORT[-END]:CONTAINER_PORT[-END][/PROTO].
[[nodiscard]] core::Result<PortMapping> parse_port_mapping(std::string_view text);

}  // namespace berth::net
