// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::net {

/// The longest interface name the kernel accepts (IFNAMSIZ - 1).
inline constexpr std::size_t kMaxInterfaceName = 15;

/// Checks an interface name the way the kernel will: 1 to 15 bytes, no '/',
/// no ':' , no white space, not "." or "..". Errors name the interface.
[[nodiscard]] core::Result<void> validate_interface_name(std::string_view name);

/// A network interface as the kernel reports it.
struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;  ///< "bridge", "veth", ... or "" for plain devices such as lo
  unsigned mtu = 0;
  std::string mac;  ///< "aa:bb:cc:dd:ee:ff", or "" when the link has none
  bool up = false;  ///< administratively up (IFF_UP)
  int master_index = 0;  ///< the bridge it is attached to, or 0
};

/// An address on an interface.
struct AddressInfo {
  int link_index = 0;
  InterfaceAddress address;
};

/// A route in the main table. No destination means the default route.
struct Route {
  std::optional<Subnet> destination;
  std::optional<IpAddress> gateway;
  std::string device;  ///< outgoing interface; required without a gateway
  /// Which default route (IPv4 or IPv6) when there is no destination.
  bool v6 = false;
  friend bool operator==(const Route&, const Route&) = default;
};

/// Settings applied when a link is created, in the same netlink message, so a
/// new link is never seen half-configured.
struct LinkSettings {
  unsigned mtu = 0;          ///< 0 keeps the kernel's default
  std::string mac;           ///< "" lets the kernel choose
  std::string master;        ///< bridge to attach to, or ""
  bool up = false;
};

/// Where and how the peer end of a veth pair is created.
struct VethPeer {
  std::string name;
  /// Create the peer directly in this network namespace ("" = same as the first end).
  std::filesystem::path netns;
  unsigned mtu = 0;
  std::string mac;  ///< "" lets the kernel choose
};

/// Manages links, addresses and routes of one network namespace over
/// rtnetlink (libnl-route). The socket is bound to the namespace it was
/// opened in, so the object may be used from any thread afterwards — but only
/// one thread at a time (not thread-safe). Move-only.
class Links {
public:
  /// Opens a socket in the calling thread's network namespace.
  [[nodiscard]] static core::Result<Links> open();
  /// Opens a socket inside the namespace at `netns` (created there on a
  /// dedicated thread; the caller's thread never changes namespace).
  [[nodiscard]] static core::Result<Links> open_in(const std::filesystem::path& netns);

  Links(Links&&) noexcept;
  Links& operator=(Links&&) noexcept;
  ~Links();

  [[nodiscard]] core::Result<void> create_bridge(std::string_view name, const LinkSettings& settings = {});
  /// Creates a veth pair: `name` here, `peer.name` in `peer.netns`.
  [[nodiscard]] core::Result<void> create_veth(std::string_view name, const VethPeer& peer,
                                               const LinkSettings& settings = {});
  /// Deletes a link (a veth takes its peer with it). A missing link is ENODEV.
  [[nodiscard]] core::Result<void> remove(std::string_view name);
  /// Deletes a link if it exists; true when something was deleted.
  [[nodiscard]] core::Result<bool> remove_if_present(std::string_view name);

  [[nodiscard]] core::Result<void> move_to_netns(std::string_view name, const std::filesystem::path& netns);
  [[nodiscard]] core::Result<void> rename(std::string_view name, std::string_view new_name);
  [[nodiscard]] core::Result<void> set_mtu(std::string_view name, unsigned mtu);
  [[nodiscard]] core::Result<void> set_mac(std::string_view name, std::string_view mac);
  [[nodiscard]] core::Result<void> set_up(std::string_view name);
  [[nodiscard]] core::Result<void> set_down(std::string_view name);
  /// Lets the bridge send a frame back out of the port `name` it came in on,
  /// so a container reaches its own published port through the host.
  [[nodiscard]] core::Result<void> set_hairpin(std::string_view name, bool on);
  /// Turns the bridge's IGMP/MLD snooping on or off. Off, the bridge floods
  /// multicast like an unmanaged switch; on, the kernel re-arms every port's
  /// multicast timers whenever any port changes state (an O(ports) cost on
  /// each attach and detach).
  [[nodiscard]] core::Result<void> set_multicast_snooping(std::string_view bridge, bool on);
  /// Gives `name` no IPv6 link-local address when it comes up (address
  /// generation mode "none"), so it sends no duplicate address detection,
  /// router solicitation or MLD report. Set it before the link comes up. A
  /// kernel without IPv6 makes this a no-op.
  [[nodiscard]] core::Result<void> stop_ipv6_autoconf(std::string_view name);
  /// Attaches `name` to the bridge `master`; an empty `master` detaches it.
  [[nodiscard]] core::Result<void> set_master(std::string_view name, std::string_view master);

  /// Adds an address. IPv6 addresses skip duplicate address detection when
  /// `nodad` is set, so they are usable at once (what containers want).
  [[nodiscard]] core::Result<void> add_address(std::string_view name, const InterfaceAddress& address,
                                               bool nodad = true);
  [[nodiscard]] core::Result<void> remove_address(std::string_view name, const InterfaceAddress& address);

  [[nodiscard]] core::Result<void> add_route(const Route& route);
  [[nodiscard]] core::Result<void> remove_route(const Route& route);

  [[nodiscard]] core::Result<std::vector<LinkInfo>> list_links();
  /// The link named `name`, or nullopt.
  [[nodiscard]] core::Result<std::optional<LinkInfo>> find_link(std::string_view name);
  /// The link named `name`; a missing one is ENODEV.
  [[nodiscard]] core::Result<LinkInfo> get_link(std::string_view name);
  /// Addresses of every link, or of `name` only.
  [[nodiscard]] core::Result<std::vector<AddressInfo>> list_addresses(std::string_view name = {});
  /// Routes of the main table (both families).
  [[nodiscard]] core::Result<std::vector<Route>> list_routes();

private:
  struct Impl;
  explicit Links(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::net
