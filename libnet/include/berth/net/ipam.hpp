// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace berth::net {

struct IpamStore;
struct IpamCache;

/// One address handed to one owner (a container id, usually).
struct Lease {
  IpAddress address;
  std::string owner;
  friend bool operator==(const Lease&, const Lease&) = default;
};

/// How a network's addresses are handed out.
struct IpamOptions {
  /// The gateway, never handed out; default: the first address after the network address.
  std::optional<IpAddress> gateway;
};

/// Hands out the addresses of one subnet. The store is a snapshot,
/// `<state_dir>/<network>.json`, and a journal of the changes since,
/// `<state_dir>/<network>.journal` (one JSON line per change, appended and
/// flushed to disk before a call returns). Every call holds the flock of
/// `<state_dir>/<network>.lock`, so several processes can share a store, and
/// a crash at any moment leaves the old or the new state. The object keeps
/// what it has read and, under the lock, reads only what other processes
/// appended since; the journal is folded into a new snapshot once it holds
/// more changes than there are leases. So a change costs the same with 10 000
/// leases as with none (amortized), and work never depends on the size of
/// the subnet: a /64 costs what a /24 costs. The network address, the
/// gateway and (IPv4) the broadcast address are never handed out.
/// Not thread-safe.
class Ipam {
public:
  /// Opens (or creates) the store of `network`. Reopening with another subnet
  /// or gateway than the store holds is a conflict.
  [[nodiscard]] static core::Result<Ipam> open(std::string network, const Subnet& subnet,
                                               std::filesystem::path state_dir, const IpamOptions& options = {});

  [[nodiscard]] const std::string& network() const noexcept { return network_; }
  [[nodiscard]] const Subnet& subnet() const noexcept { return subnet_; }
  [[nodiscard]] const IpAddress& gateway() const noexcept { return gateway_; }
  [[nodiscard]] const std::filesystem::path& store_path() const noexcept { return store_; }
  [[nodiscard]] const std::filesystem::path& journal_path() const noexcept { return journal_; }

  Ipam(Ipam&&) noexcept;
  Ipam& operator=(Ipam&&) noexcept;
  ~Ipam();

  /// The lowest free address. An owner that already holds a lease gets the same
  /// address again, so a retried setup never takes two.
  [[nodiscard]] core::Result<IpAddress> allocate(std::string_view owner);
  /// Exactly `requested`, or an error naming who holds it (or why it can never be handed out).
  [[nodiscard]] core::Result<IpAddress> allocate(std::string_view owner, const IpAddress& requested);
  /// Frees the owner's lease; an owner without one is not an error.
  [[nodiscard]] core::Result<void> release(std::string_view owner);
  /// Every lease, in address order.
  [[nodiscard]] core::Result<std::vector<Lease>> list() const;
  /// Deletes the store of `network` (snapshot and journal; the lock file
  /// stays, as lock files do). A store that is not there is fine.
  [[nodiscard]] static core::Result<void> erase(std::string_view network, const std::filesystem::path& state_dir);

  /// Frees every lease whose owner is not in `live_owners`; returns what it freed.
  [[nodiscard]] core::Result<std::vector<Lease>> reconcile(const std::set<std::string, std::less<>>& live_owners);

private:
  friend struct IpamStore;
  Ipam(std::string network, Subnet subnet, IpAddress gateway, std::filesystem::path dir);

  std::string network_;
  Subnet subnet_;
  IpAddress gateway_;
  std::filesystem::path dir_;
  std::filesystem::path store_;
  std::filesystem::path journal_;
  std::unique_ptr<IpamCache> cache_;  // what was read, and where reading stopped
};

}  // namespace berth::net
