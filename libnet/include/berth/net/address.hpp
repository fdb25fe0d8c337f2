// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <boost/asio/ip/address.hpp>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::net {

/// An IPv4 or IPv6 address (Boost.Asio's type).
using IpAddress = boost::asio::ip::address;

/// A 128-bit unsigned count or offset; IPv6 subnets are counted without
/// enumerating them.
__extension__ typedef unsigned __int128 Uint128;

/// Parses a plain address ("10.88.0.2", "fd00::1"); errors name the text.
[[nodiscard]] core::Result<IpAddress> parse_address(std::string_view text);

/// An IP network: a network address and a prefix length, with no host bits
/// set ("10.88.0.0/16", "fd00:88::/64"). A value type.
class Subnet {
public:
  /// 0.0.0.0/0 (so structs holding a Subnet can be default-constructed).
  Subnet() = default;
  /// Parses "ADDRESS/PREFIX". Host bits set ("10.88.0.1/16") are an error that
  /// names the network meant, as Docker and Podman do.
  [[nodiscard]] static core::Result<Subnet> parse(std::string_view cidr);
  /// Builds the network containing `address` (host bits are cleared).
  [[nodiscard]] static core::Result<Subnet> containing(const IpAddress& address, unsigned prefix_length);

  [[nodiscard]] const IpAddress& network() const noexcept { return network_; }
  [[nodiscard]] unsigned prefix_length() const noexcept { return prefix_; }
  [[nodiscard]] bool is_v4() const noexcept { return network_.is_v4(); }
  [[nodiscard]] bool is_v6() const noexcept { return network_.is_v6(); }
  /// Bits in an address of this family (32 or 128).
  [[nodiscard]] unsigned address_bits() const noexcept { return is_v4() ? 32 : 128; }

  /// Number of addresses, saturated at 2^128-1 for ::/0.
  [[nodiscard]] Uint128 size() const noexcept;
  /// The address `n` places after the network address, or nullopt past the end.
  [[nodiscard]] std::optional<IpAddress> nth(Uint128 n) const noexcept;
  /// The position of `address` in this subnet, or nullopt when outside it.
  [[nodiscard]] std::optional<Uint128> offset_of(const IpAddress& address) const noexcept;
  /// The last address (the IPv4 broadcast address).
  [[nodiscard]] IpAddress last() const noexcept;

  [[nodiscard]] bool contains(const IpAddress& address) const noexcept;
  [[nodiscard]] bool contains(const Subnet& other) const noexcept;
  [[nodiscard]] bool overlaps(const Subnet& other) const noexcept;

  /// "10.88.0.0/16"
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Subnet&, const Subnet&) = default;

private:
  Subnet(IpAddress network, unsigned prefix) : network_(std::move(network)), prefix_(prefix) {}
  IpAddress network_;
  unsigned prefix_ = 0;
};

/// An address with a prefix length, as set on an interface ("10.88.0.1/16").
struct InterfaceAddress {
  IpAddress address;
  unsigned prefix_length = 0;

  /// Parses "ADDRESS/PREFIX"; host bits may be set.
  [[nodiscard]] static core::Result<InterfaceAddress> parse(std::string_view text);
  /// The subnet this address lives in.
  [[nodiscard]] Subnet subnet() const;
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const InterfaceAddress&, const InterfaceAddress&) = default;
};

/// Address arithmetic on a 128-bit integer view of an address.
[[nodiscard]] Uint128 to_uint128(const IpAddress& address) noexcept;
[[nodiscard]] IpAddress from_uint128(Uint128 value, bool v4) noexcept;
/// Decimal text of a 128-bit value (for messages and JSON).
[[nodiscard]] std::string to_string(Uint128 value);

}  // namespace berth::net
