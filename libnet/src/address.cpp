// SPDX-License-Identifier: Apache-2.0
#include "berth/net/address.hpp"

#include <fmt/format.h>

#include <charconv>

namespace berth::net {
namespace {

using core::Errc;
using core::make_error;

constexpr Uint128 kAllOnes = ~Uint128{0};

/// Mask of the host part for a prefix of `prefix` bits out of `bits`.
Uint128 host_mask(unsigned prefix, unsigned bits) noexcept {
  unsigned host_bits = bits - prefix;
  if (host_bits == 0) return 0;
  if (host_bits >= 128) return kAllOnes;
  return (Uint128{1} << host_bits) - 1;
}

core::Result<unsigned> parse_prefix(std::string_view text, std::string_view whole, unsigned bits) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return make_error(Errc::invalid_argument,
                      fmt::format("malformed CIDR '{}': prefix length '{}' is not a number", whole, text));
  if (value > bits)
    return make_error(Errc::invalid_argument,
                      fmt::format("malformed CIDR '{}': prefix length {} is longer than {} bits", whole, value, bits));
  return value;
}

struct Split {
  IpAddress address;
  unsigned prefix;
};

core::Result<Split> split_cidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return make_error(Errc::invalid_argument, fmt::format("malformed CIDR '{}': expected ADDRESS/PREFIX", text));
  auto addr = parse_address(text.substr(0, slash));
  if (!addr)
    return make_error(Errc::invalid_argument,
                      fmt::format("malformed CIDR '{}': '{}' is not an IP address", text, text.substr(0, slash)));
  auto prefix = parse_prefix(text.substr(slash + 1), text, addr->is_v4() ? 32 : 128);
  if (!prefix) return prefix.error();
  return Split{*addr, *prefix};
}

}  // namespace

core::Result<IpAddress> parse_address(std::string_view text) {
  boost::system::error_code ec;
  // make_address accepts "fe80::1%eth0"; berth has no use for scoped text.
  if (text.find('%') != std::string_view::npos || text.empty())
    return make_error(Errc::invalid_argument, fmt::format("'{}' is not an IP address", text));
  auto addr = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return make_error(Errc::invalid_argument, fmt::format("'{}' is not an IP address", text));
  // Fold IPv4-mapped IPv6 into IPv4 so one address has one spelling.
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    return IpAddress(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6()));
  return addr;
}

Uint128 to_uint128(const IpAddress& address) noexcept {
  Uint128 v = 0;
  if (address.is_v4()) return address.to_v4().to_uint();
  for (unsigned char b : address.to_v6().to_bytes()) v = (v << 8) | b;
  return v;
}

IpAddress from_uint128(Uint128 value, bool v4) noexcept {
  if (v4) return boost::asio::ip::address_v4(static_cast<std::uint32_t>(value));
  boost::asio::ip::address_v6::bytes_type bytes{};
  for (int i = 15; i >= 0; --i) {
    bytes[static_cast<size_t>(i)] = static_cast<unsigned char>(value & 0xff);
    value >>= 8;
  }
  return boost::asio::ip::address_v6(bytes);
}

std::string to_string(Uint128 value) {
  if (value == 0) return "0";
  std::string s;
  while (value != 0) {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  return s;
}

core::Result<Subnet> Subnet::parse(std::string_view cidr) {
  auto split = split_cidr(cidr);
  if (!split) return split.error();
  auto subnet = containing(split->address, split->prefix);
  if (!subnet) return subnet.error();
  if (subnet->network() != split->address)
    return make_error(Errc::invalid_argument,
                      fmt::format("malformed CIDR '{}': host bits are set (did you mean '{}'?)", cidr,
                                  subnet->to_string()));
  return subnet;
}

core::Result<Subnet> Subnet::containing(const IpAddress& address, unsigned prefix_length) {
  unsigned bits = address.is_v4() ? 32 : 128;
  if (prefix_length > bits)
    return make_error(Errc::invalid_argument,
                      fmt::format("prefix length {} is longer than {} bits", prefix_length, bits));
  Uint128 net = to_uint128(address) & ~host_mask(prefix_length, bits);
  return Subnet(from_uint128(net, address.is_v4()), prefix_length);
}

Uint128 Subnet::size() const noexcept {
  Uint128 mask = host_mask(prefix_, address_bits());
  return mask == kAllOnes ? kAllOnes : mask + 1;
}

std::optional<IpAddress> Subnet::nth(Uint128 n) const noexcept {
  if (n > host_mask(prefix_, address_bits())) return std::nullopt;
  return from_uint128(to_uint128(network_) + n, is_v4());
}

std::optional<Uint128> Subnet::offset_of(const IpAddress& address) const noexcept {
  if (!contains(address)) return std::nullopt;
  return to_uint128(address) - to_uint128(network_);
}

IpAddress Subnet::last() const noexcept {
  return from_uint128(to_uint128(network_) | host_mask(prefix_, address_bits()), is_v4());
}

bool Subnet::contains(const IpAddress& address) const noexcept {
  if (address.is_v4() != is_v4()) return false;
  return (to_uint128(address) & ~host_mask(prefix_, address_bits())) == to_uint128(network_);
}

bool Subnet::contains(const Subnet& other) const noexcept {
  return other.is_v4() == is_v4() && other.prefix_ >= prefix_ && contains(other.network_);
}

bool Subnet::overlaps(const Subnet& other) const noexcept { return contains(other) || other.contains(*this); }

std::string Subnet::to_string() const { return fmt::format("{}/{}", network_.to_string(), prefix_); }

core::Result<InterfaceAddress> InterfaceAddress::parse(std::string_view text) {
  auto split = split_cidr(text);
  if (!split) return split.error();
  return InterfaceAddress{split->address, split->prefix};
}

Subnet InterfaceAddress::subnet() const { return *Subnet::containing(address, prefix_length); }

std::string InterfaceAddress::to_string() const { return fmt::format("{}/{}", address.to_string(), prefix_length); }

}  // namespace berth::net
