// SPDX-License-Identifier: Apache-2.0
#include "berth/net/ipam.hpp"

#include "berth/core/fs.hpp"
#include "berth/core/names.hpp"
#include "berth/core/store.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace berth::net {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Error;
using core::Result;

constexpr std::size_t kMaxOwner = 256;
/// The journal is folded into a new snapshot once it holds more records than
/// this and than there are leases: O(leases) work every O(leases) changes.
constexpr std::size_t kFoldAfter = 256;

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

/// One journal record: a lease handed out, or an owner's lease freed.
struct Change {
  std::optional<Lease> added;
  std::string released;  // the owner, when `added` is empty
};

struct IpamCache {
  bool valid = false;
  core::FileStamp snapshot;        // the snapshot `state` was read from
  std::uint64_t generation = 0;    // the snapshot's; the journal applies only when its header says the same
  ino_t journal_ino = 0;           // the journal read so far (0: none)
  off_t journal_offset = 0;        // end of the last whole line read
  bool journal_current = false;    // its header names `generation`
  std::size_t journal_records = 0;  // records applied from it
  State state;
};

// A private helper class with access to the members; keeps the header free of
// JSON and State.
struct IpamStore {
  const Ipam& ipam;
  IpamCache& cache;

  /// The snapshot and the lock are records of the state directory; the
  /// journal sits beside them.
  core::RecordStore records() const { return core::RecordStore(ipam.dir_, {.directory = 0700, .record = 0644}); }
  std::string snapshot_name() const { return ipam.network() + ".json"; }
  std::string journal_name() const { return ipam.network() + ".journal"; }
  std::string lock_name() const { return ipam.network() + ".lock"; }
  core::Journal journal() const { return core::Journal(ipam.journal_path()); }

  Error corrupt(const std::filesystem::path& file, std::string_view why) const {
    return make_error(Errc::corrupt, fmt::format("IPAM store '{}' is corrupt: {}", file.string(), why));
  }

  static const json::string* str(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it == o.end() ? nullptr : it->value().if_string();
  }

  Result<std::pair<Uint128, Lease>> lease_at(const std::filesystem::path& file, std::string_view addr,
                                             std::string_view owner) const {
    auto ip = parse_address(addr);
    if (!ip) return corrupt(file, ip.error().message());
    auto offset = ipam.subnet().offset_of(*ip);
    if (!offset) return corrupt(file, fmt::format("lease {} is outside {}", ip->to_string(), ipam.subnet().to_string()));
    return std::pair{*offset, Lease{*ip, std::string(owner)}};
  }

  /// Parses the snapshot into the cache; the journal is read afresh after it.
  Result<void> load_snapshot(std::string_view text, const core::FileStamp& id) {
    const auto& file = ipam.store_path();
    boost::system::error_code ec;
    json::value doc = json::parse(text, ec);
    if (ec) return corrupt(file, ec.message());
    const json::object* root = doc.if_object();
    if (!root) return corrupt(file, "not a JSON object");
    const json::string* subnet = str(*root, "subnet");
    const json::string* gateway = str(*root, "gateway");
    if (!subnet || !gateway) return corrupt(file, "missing 'subnet' or 'gateway'");
    if (*subnet != ipam.subnet().to_string())
      return make_error(Errc::conflict, fmt::format("network '{}' is stored with subnet {}, not {}", ipam.network(),
                                                    std::string_view(*subnet), ipam.subnet().to_string()));
    if (*gateway != ipam.gateway().to_string())
      return make_error(Errc::conflict, fmt::format("network '{}' is stored with gateway {}, not {}", ipam.network(),
                                                    std::string_view(*gateway), ipam.gateway().to_string()));
    std::uint64_t generation = 0;
    if (auto it = root->find("generation"); it != root->end()) {
      const auto* g = it->value().if_int64();
      if (!g || *g < 0) return corrupt(file, "'generation' is not a non-negative integer");
      generation = static_cast<std::uint64_t>(*g);
    }
    State state;
    auto it = root->find("leases");
    const json::array* leases = it == root->end() ? nullptr : it->value().if_array();
    if (!leases) return corrupt(file, "missing 'leases'");
    for (const json::value& v : *leases) {
      const json::object* o = v.if_object();
      const json::string* addr = o ? str(*o, "address") : nullptr;
      const json::string* owner = o ? str(*o, "owner") : nullptr;
      if (!addr || !owner) return corrupt(file, "a lease lacks 'address' or 'owner'");
      auto lease = lease_at(file, std::string_view(*addr), std::string_view(*owner));
      if (!lease) return lease.error();
      state.leases.push_back(std::move(*lease));
    }
    std::sort(state.leases.begin(), state.leases.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    cache = IpamCache{.valid = true, .snapshot = id, .generation = generation, .state = std::move(state)};
    return {};
  }

  /// Applies the whole lines of `text` (the journal from the cached offset).
  Result<void> apply_journal(std::string_view text) {
    const auto& file = ipam.journal_path();
    std::size_t pos = 0;
    for (;;) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) break;  // a line cut short by a crash: never acknowledged
      std::string_view line = text.substr(pos, nl - pos);
      boost::system::error_code ec;
      json::value doc = json::parse(line, ec);
      const json::object* o = ec ? nullptr : doc.if_object();
      if (!o) return corrupt(file, fmt::format("line at byte {} is not a JSON object", cache.journal_offset));
      if (cache.journal_offset == 0) {
        const auto* g = o->if_contains("generation");
        const auto* gen = g ? g->if_int64() : nullptr;
        if (!gen) return corrupt(file, "the first line names no 'generation'");
        cache.journal_current = *gen >= 0 && static_cast<std::uint64_t>(*gen) == cache.generation;
      } else if (cache.journal_current) {
        if (const json::string* owner = str(*o, "release")) {
          const std::string_view who(*owner);
          std::erase_if(cache.state.leases, [&](const auto& entry) { return entry.second.owner == who; });
        } else {
          const json::string* addr = str(*o, "add");
          const json::string* owner2 = str(*o, "owner");
          if (!addr || !owner2) return corrupt(file, "a record is neither an 'add' with an 'owner' nor a 'release'");
          auto lease = lease_at(file, std::string_view(*addr), std::string_view(*owner2));
          if (!lease) return lease.error();
          insert(cache.state, std::move(*lease));
        }
        ++cache.journal_records;
      }
      cache.journal_offset += static_cast<off_t>(nl + 1 - pos);
      pos = nl + 1;
    }
    return {};
  }

  /// Puts a lease in its place, replacing whatever its owner or its address held.
  static void insert(State& state, std::pair<Uint128, Lease> entry) {
    std::erase_if(state.leases, [&](const auto& e) { return e.second.owner == entry.second.owner || e.first == entry.first; });
    auto pos = std::lower_bound(state.leases.begin(), state.leases.end(), entry.first,
                                [](const auto& e, Uint128 o) { return e.first < o; });
    state.leases.insert(pos, std::move(entry));
  }

  /// Brings the cache up to date with the files; holds the lock.
  Result<void> refresh() {
    auto stamp = core::stamp_of(ipam.store_path());
    if (!stamp) return stamp.error();
    if (!cache.valid || !(*stamp == cache.snapshot)) {
      auto text = records().get(snapshot_name());
      if (!text) return text.error();
      if (!*text) return core::errno_error(ENOENT, fmt::format("read '{}'", ipam.store_path().string()));
      // The stamp before the read: a change in between is seen next time.
      if (auto r = load_snapshot(**text, *stamp); !r) return r;
    }
    auto tail = journal().read_from(cache.journal_offset);
    if (!tail) return tail.error();
    if (!*tail) {
      if (cache.journal_records > 0) return reload();
      cache.journal_ino = 0;
      cache.journal_offset = 0;
      cache.journal_current = false;
      return {};
    }
    if ((*tail)->inode != cache.journal_ino) {
      // Replaced by a writer that folded it or started it afresh: whatever
      // was applied from the old one is in the snapshot now, or must go.
      if (cache.journal_records > 0) return reload();
      const bool read_from_start = cache.journal_offset == 0;
      cache.journal_ino = (*tail)->inode;
      cache.journal_offset = 0;
      cache.journal_current = false;
      if (!read_from_start) return refresh();
    }
    return apply_journal((*tail)->text);
  }

  Result<void> reload() {
    cache.valid = false;
    cache.journal_records = 0;
    return refresh();
  }

  static std::string record(const Change& c) {
    json::object o;
    if (c.added) {
      o["add"] = c.added->address.to_string();
      o["owner"] = c.added->owner;
    } else {
      o["release"] = c.released;
    }
    return json::serialize(o) + "\n";
  }

  std::string header(std::uint64_t generation) const {
    return json::serialize(json::object{{"generation", generation}, {"network", ipam.network()}}) + "\n";
  }

  /// Appends `changes` to the journal and flushes them to disk.
  Result<void> append(const std::vector<Change>& changes) {
    std::string text;
    for (const auto& c : changes) text += record(c);
    if (!cache.journal_current) {
      // No journal for this snapshot yet (or a stale one): start it afresh.
      auto stamp = journal().reset(header(cache.generation) + text, 0644);
      if (!stamp) return stamp.error();
      cache.journal_ino = stamp->inode;
      cache.journal_offset = stamp->size;
      cache.journal_current = true;
      cache.journal_records = changes.size();
      return {};
    }
    if (auto r = journal().append(cache.journal_offset, text); !r) return r;
    cache.journal_offset += static_cast<off_t>(text.size());
    cache.journal_records += changes.size();
    return {};
  }

  /// Writes the whole state as a new snapshot and starts its journal empty.
  /// A crash between the two leaves the new snapshot with the old journal,
  /// whose generation no longer matches: it is ignored, as it must be.
  Result<void> fold() {
    const std::uint64_t generation = cache.generation + 1;
    if (auto r = write_snapshot(cache.state, generation); !r) return r;
    auto snapshot = core::stamp_of(ipam.store_path());
    if (!snapshot) return snapshot.error();
    cache.snapshot = *snapshot;
    cache.generation = generation;
    auto stamp = journal().reset(header(generation), 0644);
    if (!stamp) return stamp.error();
    cache.journal_ino = stamp->inode;
    cache.journal_offset = stamp->size;
    cache.journal_current = true;
    cache.journal_records = 0;
    return {};
  }

  Result<void> write_snapshot(const State& state, std::uint64_t generation) const {
    json::array leases;
    leases.reserve(state.leases.size());
    for (const auto& [offset, lease] : state.leases)
      leases.push_back(json::object{{"address", lease.address.to_string()}, {"owner", lease.owner}});
    json::object root{{"version", 1},
                      {"network", ipam.network()},
                      {"subnet", ipam.subnet().to_string()},
                      {"gateway", ipam.gateway().to_string()},
                      {"generation", generation},
                      {"leases", std::move(leases)}};
    return records().put(snapshot_name(), json::serialize(root));
  }

  /// Runs `fn(state, changes)` under the store's lock on an up-to-date copy;
  /// journals what it changed. A failure to record leaves the cache to be
  /// read afresh, so memory never holds what the disk does not.
  template <class Fn>
  auto locked(Fn&& fn) -> decltype(fn(std::declval<State&>(), std::declval<std::vector<Change>&>())) {
    auto lock = records().lock(lock_name());
    if (!lock) return lock.error();
    if (auto r = refresh(); !r) return r.error();
    std::vector<Change> changes;
    auto r = fn(cache.state, changes);
    if (r && !changes.empty()) {
      auto saved = append(changes);
      if (saved && cache.journal_records > std::max<std::size_t>(kFoldAfter, cache.state.leases.size()))
        saved = fold();
      if (!saved) {
        cache.valid = false;
        return saved.error();
      }
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
      journal_(dir_ / (network_ + ".journal")),
      cache_(std::make_unique<IpamCache>()) {}

Ipam::Ipam(Ipam&&) noexcept = default;
Ipam& Ipam::operator=(Ipam&&) noexcept = default;
Ipam::~Ipam() = default;

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
  IpamStore store{ipam, *ipam.cache_};
  auto lock = store.records().lock(store.lock_name());
  if (!lock) return std::move(lock).error().wrap(what);
  // Under the lock, any temp file is left over from a writer that died.
  store.records().remove_leftovers(store.snapshot_name());
  store.records().remove_leftovers(store.journal_name());
  if (!std::filesystem::exists(ipam.store_))
    if (auto s = store.write_snapshot(State{}, 0); !s) return std::move(s).error().wrap(what);
  if (auto r = store.refresh(); !r) return std::move(r).error().wrap(what);
  return ipam;
}

Result<IpAddress> Ipam::allocate(std::string_view owner) {
  const std::string what = fmt::format("allocate address in network '{}' for '{}'", network_, owner);
  if (auto v = validate_owner(owner); !v) return std::move(v).error().wrap(what);
  IpamStore store{*this, *cache_};
  auto r = store.locked([&](State& state, std::vector<Change>& changes) -> Result<IpAddress> {
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
    changes.push_back({.added = Lease{address, std::string(owner)}});
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
  IpamStore store{*this, *cache_};
  if (auto why = store.reserved(*offset); !why.empty())
    return make_error(Errc::invalid_argument, fmt::format("{}: address {}", what, why));
  auto r = store.locked([&](State& state, std::vector<Change>& changes) -> Result<IpAddress> {
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
    changes.push_back({.added = Lease{requested, std::string(owner)}});
    return requested;
  });
  if (!r) return std::move(r).error().wrap(what);
  return r;
}

Result<void> Ipam::release(std::string_view owner) {
  IpamStore store{*this, *cache_};
  auto r = store.locked([&](State& state, std::vector<Change>& changes) -> Result<void> {
    auto n = std::erase_if(state.leases, [&](const auto& entry) { return entry.second.owner == owner; });
    if (n > 0) changes.push_back({.released = std::string(owner)});
    return {};
  });
  if (!r) return std::move(r).error().wrap(fmt::format("release address of '{}' in network '{}'", owner, network_));
  return r;
}

Result<std::vector<Lease>> Ipam::list() const {
  IpamStore store{*this, *cache_};
  auto lock = store.records().lock(store.lock_name());
  if (!lock) return lock.error();
  if (auto r = store.refresh(); !r) {
    cache_->valid = false;
    return std::move(r).error().wrap(fmt::format("list leases of network '{}'", network_));
  }
  std::vector<Lease> out;
  out.reserve(cache_->state.leases.size());
  for (const auto& [offset, lease] : cache_->state.leases) out.push_back(lease);
  return out;
}

Result<std::vector<Lease>> Ipam::reconcile(const std::set<std::string, std::less<>>& live_owners) {
  IpamStore store{*this, *cache_};
  auto r = store.locked([&](State& state, std::vector<Change>& changes) -> Result<std::vector<Lease>> {
    std::vector<Lease> freed;
    std::erase_if(state.leases, [&](const auto& entry) {
      if (live_owners.contains(entry.second.owner)) return false;
      freed.push_back(entry.second);
      changes.push_back({.released = entry.second.owner});
      return true;
    });
    return freed;
  });
  if (!r) return std::move(r).error().wrap(fmt::format("reconcile leases of network '{}'", network_));
  return r;
}

Result<void> Ipam::erase(std::string_view network, const std::filesystem::path& state_dir) {
  const std::string what = fmt::format("remove IPAM of network '{}'", network);
  if (auto v = validate_network_name(network); !v) return std::move(v).error().wrap(what);
  std::error_code ec;
  if (!std::filesystem::exists(state_dir, ec)) return {};
  const core::RecordStore records(state_dir, {.directory = 0700, .record = 0644});
  auto lock = records.lock(std::string(network) + ".lock");
  if (!lock) return std::move(lock).error().wrap(what);
  BERTH_TRY(records.remove(std::string(network) + ".journal"), what);
  BERTH_TRY(records.remove(std::string(network) + ".json"), what);
  return {};
}

}  // namespace berth::net
