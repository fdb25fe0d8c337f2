// SPDX-License-Identifier: Apache-2.0
#include "berth/net/port_mapping.hpp"

#include <fmt/format.h>

#include <charconv>
#include <netinet/in.h>

namespace berth::net {
namespace {

using core::Errc;
using core::make_error;

core::Result<std::pair<int, int>> parse_range(std::string_view text, std::string_view whole) {
  auto number = [&](std::string_view s) -> core::Result<int> {
    int v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
      return make_error(Errc::invalid_argument, fmt::format("port mapping '{}': '{}' is not a port", whole, s));
    return v;
  };
  auto dash = text.find('-');
  auto first = number(text.substr(0, dash));
  if (!first) return first.error();
  if (dash == std::string_view::npos) return std::pair{*first, *first};
  auto last = number(text.substr(dash + 1));
  if (!last) return last.error();
  return std::pair{*first, *last};
}

}  // namespace

std::string_view protocol_name(Protocol p) noexcept {
  switch (p) {
    case Protocol::Tcp: return "tcp";
    case Protocol::Udp: return "udp";
    case Protocol::Sctp: return "sctp";
  }
  return "tcp";
}

core::Result<Protocol> parse_protocol(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (Protocol p : {Protocol::Tcp, Protocol::Udp, Protocol::Sctp})
    if (lower == protocol_name(p)) return p;
  return make_error(Errc::invalid_argument, fmt::format("unknown protocol '{}' (expected tcp, udp or sctp)", text));
}

std::uint8_t protocol_number(Protocol p) noexcept {
  switch (p) {
    case Protocol::Tcp: return IPPROTO_TCP;
    case Protocol::Udp: return IPPROTO_UDP;
    case Protocol::Sctp: return IPPROTO_SCTP;
  }
  return IPPROTO_TCP;
}

std::string to_string(const PortMapping& m) {
  std::string host = m.host_address ? (m.host_address->is_v6() ? fmt::format("[{}]", m.host_address->to_string())
                                                                 : m.host_address->to_string())
                                    : std::string("*");
  if (m.count > 1)
    return fmt::format("{}:{}-{}->{}-{}/{}", host, m.host_port, m.host_port + m.count - 1, m.container_port,
                       m.container_port + m.count - 1, protocol_name(m.protocol));
  return fmt::format("{}:{}->{}/{}", host, m.host_port, m.container_port, protocol_name(m.protocol));
}

core::Result<void> validate(const PortMapping& m) {
  auto in_range = [](int p) { return p >= 1 && p <= 65535; };
  if (!in_range(m.host_port))
    return make_error(Errc::invalid_argument, fmt::format("host port {} is out of range 1-65535", m.host_port));
  if (!in_range(m.container_port))
    return make_error(Errc::invalid_argument,
                      fmt::format("container port {} is out of range 1-65535", m.container_port));
  if (m.count < 1 || !in_range(m.host_port + m.count - 1) || !in_range(m.container_port + m.count - 1))
    return make_error(Errc::invalid_argument, fmt::format("port range of {} ports starting at {} and {} is out of range 1-65535",
                                                          m.count, m.host_port, m.container_port));
  return {};
}

core::Result<PortMapping> parse_port_mapping(std::string_view text) {
  PortMapping m;
  std::string_view rest = text;
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    auto proto = parse_protocol(rest.substr(slash + 1));
    if (!proto) return std::move(proto).error().wrap(fmt::format("port mapping '{}'", text));
    m.protocol = *proto;
    rest = rest.substr(0, slash);
  }
  // The container part follows the last ':'; an IPv6 host address is bracketed.
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos)
    return make_error(Errc::invalid_argument,
                      fmt::format("port mapping '{}': expected [HOST_ADDR:]HOST_PORT:CONTAINER_PORT[/PROTO]", text));
  auto container = parse_range(rest.substr(colon + 1), text);
  if (!container) return container.error();
  rest = rest.substr(0, colon);
  if (auto c = rest.rfind(':'); c != std::string_view::npos) {
    std::string_view addr = rest.substr(0, c);
    if (addr.size() >= 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
    auto ip = parse_address(addr);
    if (!ip) return std::move(ip).error().wrap(fmt::format("port mapping '{}'", text));
    if (!ip->is_unspecified()) m.host_address = *ip;
    rest = rest.substr(c + 1);
  }
  auto host = parse_range(rest, text);
  if (!host) return host.error();
  m.host_port = host->first;
  m.container_port = container->first;
  int host_len = host->second - host->first + 1;
  int container_len = container->second - container->first + 1;
  if (host_len != container_len || host_len < 1)
    return make_error(Errc::invalid_argument,
                      fmt::format("port mapping '{}': host and container ranges differ in length", text));
  m.count = host_len;
  if (auto v = validate(m); !v) return std::move(v).error().wrap(fmt::format("port mapping '{}'", text));
  return m;
}

}  // namespace berth::net
