// SPDX-License-Identifier: Apache-2.0
#include "berth/net/ipam.hpp"

#include "berth/core/fs.hpp"
#include "berth/core/names.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace berth::net {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

constexpr std::size_t kMaxOwner = 256;

/// The leases of one store, kept sorted by offset in the subnet.
struct State {
  std::vector<std::pair<Uint128, Lease>> leases;
};

Result<void> validate_network_name(std::string_view name) {
  if (!core::is_plain_name(name, 64))
    return make_error(Errc::invalid_argument,
                      fmt::format("network name '{}' must be 1 to 64 letters, digits, '-', '_' or '.'", name));
  return {};
}

Result<void> validate_owner(std::string_view owner) {
  if (owner.empty()) return make_error(Errc::invalid_argument, "lease owner is empty");
  if (owner.size() > kMaxOwner)
    return make_error(Errc::invalid_argument, fmt::format("lease owner is longer than {} characters", kMaxOwner));
  for (char c : owner)
    if (static_cast<unsigned char>(c) < ' ')
      return make_error(Errc::invalid_argument, "lease owner contains a control character");
  return {};
}

}  // namespace

// A private helper class with access to the members; keeps the header free of
// JSON and State.
struct IpamStore {
  const Ipam& ipam;

  Result<State> load(bool must_exist) const {
    auto text = core::read_file(ipam.store_path());
    if (!text) {
      if (!must_exist && text.error().code == std::errc::no_such_file_or_directory) return State{};
      return text.error();
    }
    auto corrupt = [&](std::string_view why) {
      return make_error(Errc::corrupt, fmt::format("IPAM store '{}' is corrupt: {}", ipam.store_path().string(), why));
    };
    boost::system::error_code ec;
    json::value doc = json::parse(*text, ec);
    if (ec) return corrupt(ec.message());
    const json::object* root = doc.if_object();
    if (!root) return corrupt("not a JSON object");
    auto str = [&](const json::object& o, std::string_view key) -> const json::string* {
      auto it = o.find(key);
      return it == o.end() ? nullptr : it->value().if_string();
    };
    const json::string* subnet = str(*root, "subnet");
    const json::string* gateway = str(*root, "gateway");
    if (!subnet || !gateway) return corrupt("missing 'subnet' or 'gateway'");
    if (*subnet != ipam.subnet().to_string())
      return make_error(Errc::conflict, fmt::format("network '{}' is stored with subnet {}, not {}", ipam.network(),
                                                    std::string_view(*subnet), ipam.subnet().to_string()));
    if (*gateway != ipam.gateway().to_string())
      return make_error(Errc::conflict, fmt::format("network '{}' is stored with gateway {}, not {}", ipam.network(),
                                                    std::string_view(*gateway), ipam.gateway().to_string()));
    State state;
    auto it = root->find("leases");
    const json::array* leases = it == root->end() ? nullptr : it->value().if_array();
    if (!leases) return corrupt("missing 'leases'");
    for (const json::value& v : *leases) {
      const json::object* o = v.if_object();
      const json::string* addr = o ? str(*o, "address") : nullptr;
      const json::string* owner = o ? str(*o, "owner") : nullptr;
      if (!addr || !owner) return corrupt("a lease lacks 'address' or 'owner'");
      auto ip = parse_address(std::string_view(*addr));
      if (!ip) return corrupt(ip.error().message());
      auto offset = ipam.subnet().offset_of(*ip);
      if (!offset) return corrupt(fmt::format("lease {} is outside {}", ip->to_string(), ipam.subnet().to_string()));
      state.leases.emplace_back(*offset, Lease{*ip, std::string(std::string_view(*owner))});
    }
    std::sort(state.leases.begin(), state.leases.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return state;
  }

  Result<void> save(const State& state) const {
    json::array leases;
    leases.reserve(state.leases.size());
    for (const auto& [offset, lease] : state.leases)
      leases.push_back(json::object{{"address", lease.address.to_string()}, {"owner", lease.owner}});
    json::object root{{"version", 1},
                      {"network", ipam.network()},
                      {"subnet", ipam.subnet().to_string()},
                      {"gateway", ipam.gateway().to_string()},
                      {"leases", std::move(leases)}};
    return core::write_file_atomic(ipam.store_path(), json::serialize(root), 0644);
  }

  /// Runs `fn(state)` under the store's lock; saves when it returns true.
  template <class Fn>
  auto locked(Fn&& fn) const -> decltype(fn(std::declval<State&>(), std::declval<bool&>())) {
    auto lock = core::FileLock::acquire(ipam.lock_);
    if (!lock) return lock.error();
    auto state = load(true);
    if (!state) return state.error();
    bool dirty = false;
    auto r = fn(*state, dirty);
    if (r && dirty) {
      if (auto s = save(*state); !s) return s.error();
    }
    return r;
  }

  [[nodiscard]] Uint128 last_usable() const {
    Uint128 last = ipam.subnet().size() - 1;
    return ipam.subnet().is_v4() ? last - 1 : last;  // IPv4 broadcast
  }

  /// Why `offset` can never be leased, or "" when it can.
  [[nodiscard]] std::string reserved(Uint128 offset) const {
    if (offset == 0) return "is the network address";
    if (offset == *ipam.subnet().offset_of(ipam.gateway())) return "is the gateway";
    if (offset > last_usable()) return "is the broadcast address";
    return {};
  }
};

Ipam::Ipam(std::string network, Subnet subnet, IpAddress gateway, std::filesystem::path dir)
    : network_(std::move(network)),
      subnet_(std::move(subnet)),
      gateway_(std::move(gateway)),
      dir_(std::move(dir)),
      store_(dir_ / (network_ + ".json")),
      lock_(dir_ / (network_ + ".lock")) {}

Result<Ipam> Ipam::open(std::string network, const Subnet& subnet, std::filesystem::path state_dir,
                        const IpamOptions& options) {
  const std::string what = fmt::format("open IPAM of network '{}'", network);
  if (auto v = validate_network_name(network); !v) return std::move(v).error().wrap(what);
  // Network, gateway and (IPv4) broadcast are reserved: at least one address must remain.
  Uint128 reserved = subnet.is_v4() ? 3 : 2;
  if (subnet.size() <= reserved)
    return make_error(Errc::invalid_argument,
                      fmt::format("{}: subnet {} is too small: it leaves no address for containers", what,
                                  subnet.to_string()));
  IpAddress gateway = options.gateway ? *options.gateway : *subnet.nth(1);
  auto gw_offset = subnet.offset_of(gateway);
  if (!gw_offset)
    return make_error(Errc::invalid_argument,
                      fmt::format("{}: gateway {} is outside {}", what, gateway.to_string(), subnet.to_string()));
  if (*gw_offset == 0 || (subnet.is_v4() && *gw_offset == subnet.size() - 1))
    return make_error(Errc::invalid_argument,
                      fmt::format("{}: gateway {} is the network or broadcast address of {}", what,
                                  gateway.to_string(), subnet.to_string()));
  if (auto r = core::make_directories(state_dir, 0700); !r) return std::move(r).error().wrap(what);

  Ipam ipam(std::move(network), subnet, std::move(gateway), std::move(state_dir));
  IpamStore store{ipam};
  auto lock = core::FileLock::acquire(ipam.lock_);
  if (!lock) return std::move(lock).error().wrap(what);
  // Under the lock, any temp file is left over from a writer that died.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(ipam.dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(ipam.network_ + ".json.tmp.")) std::filesystem::remove(entry.path(), ec);
  }
  auto state = store.load(false);
  if (!state) return std::move(state).error().wrap(what);
  if (!std::filesystem::exists(ipam.store_))
    if (auto s = store.save(*state); !s) return std::move(s).error().wrap(what);
  return ipam;
}

Result<IpAddress> Ipam::allocate(std::string_view owner) {
  const std::string what = fmt::format("allocate address in network '{}' for '{}'", network_, owner);
  if (auto v = validate_owner(owner); !v) return std::move(v).error().wrap(what);
  IpamStore store{*this};
  auto r = store.locked([&](State& state, bool& dirty) -> Result<IpAddress> {
    for (const auto& [offset, lease] : state.leases)
      if (lease.owner == owner) return lease.address;
    const Uint128 gw = *subnet_.offset_of(gateway_);
    const Uint128 last = store.last_usable();
    // Walk the sorted leases for the first gap: O(leases), never O(subnet).
    Uint128 candidate = 1;
    auto pos = state.leases.begin();
    for (;;) {
      if (candidate == gw) {
        ++candidate;
        continue;
      }
      while (pos != state.leases.end() && pos->first < candidate) ++pos;
      if (pos != state.leases.end() && pos->first == candidate) {
        ++candidate;
        continue;
      }
      break;
    }
    if (candidate > last || candidate == 0)
      return make_error(Errc::exhausted, fmt::format("no free address left in {}", subnet_.to_string()));
    IpAddress address = *subnet_.nth(candidate);
    state.leases.insert(pos, {candidate, Lease{address, std::string(owner)}});
    dirty = true;
    return address;
  });
  if (!r) return std::move(r).error().wrap(what);
  return r;
}

Result<IpAddress> Ipam::allocate(std::string_view owner, const IpAddress& requested) {
  const std::string what =
      fmt::format("allocate {} in network '{}' for '{}'", requested.to_string(), network_, owner);
  if (auto v = validate_owner(owner); !v) return std::move(v).error().wrap(what);
  auto offset = subnet_.offset_of(requested);
  if (!offset)
    return make_error(Errc::invalid_argument, fmt::format("{}: address is outside {}", what, subnet_.to_string()));
  IpamStore store{*this};
  if (auto why = store.reserved(*offset); !why.empty())
    return make_error(Errc::invalid_argument, fmt::format("{}: address {}", what, why));
  auto r = store.locked([&](State& state, bool& dirty) -> Result<IpAddress> {
    for (const auto& [off, lease] : state.leases) {
      if (off == *offset && lease.owner == owner) return lease.address;
      if (off == *offset)
        return make_error(Errc::conflict, fmt::format("address is already leased to '{}'", lease.owner));
      if (lease.owner == owner)
        return make_error(Errc::conflict, fmt::format("'{}' already holds {}", owner, lease.address.to_string()));
    }
    auto pos = std::lower_bound(state.leases.begin(), state.leases.end(), *offset,
                                [](const auto& entry, Uint128 o) { return entry.first < o; });
    state.leases.insert(pos, {*offset, Lease{requested, std::string(owner)}});
    dirty = true;
    return requested;
  });
  if (!r) return std::move(r).error().wrap(what);
  return r;
}

Result<void> Ipam::release(std::string_view owner) {
  IpamStore store{*this};
  auto r = store.locked([&](State& state, bool& dirty) -> Result<void> {
    auto n = std::erase_if(state.leases, [&](const auto& entry) { return entry.second.owner == owner; });
    dirty = n > 0;
    return {};
  });
  if (!r) return std::move(r).error().wrap(fmt::format("release address of '{}' in network '{}'", owner, network_));
  return r;
}

Result<std::vector<Lease>> Ipam::list() const {
  IpamStore store{*this};
  auto lock = core::FileLock::acquire(lock_);
  if (!lock) return lock.error();
  auto state = store.load(true);
  if (!state) return std::move(state).error().wrap(fmt::format("list leases of network '{}'", network_));
  std::vector<Lease> out;
  out.reserve(state->leases.size());
  for (auto& [offset, lease] : state->leases) out.push_back(std::move(lease));
  return out;
}

Result<std::vector<Lease>> Ipam::reconcile(const std::set<std::string, std::less<>>& live_owners) {
  IpamStore store{*this};
  auto r = store.locked([&](State& state, bool& dirty) -> Result<std::vector<Lease>> {
    std::vector<Lease> freed;
    std::erase_if(state.leases, [&](const auto& entry) {
      if (live_owners.contains(entry.second.owner)) return false;
      freed.push_back(entry.second);
      return true;
    });
    dirty = !freed.empty();
    return freed;
  });
  if (!r) return std::move(r).error().wrap(fmt::format("reconcile leases of network '{}'", network_));
  return r;
}

}  // namespace berth::net
