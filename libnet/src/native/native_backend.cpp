// SPDX-License-Identifier: Apache-2.0
#include "berth/net/native/native_backend.hpp"

#include "berth/core/error_list.hpp"
#include "berth/core/fs.hpp"
#include "berth/core/names.hpp"
#include "berth/core/log.hpp"
#include "berth/core/netns.hpp"
#include "berth/net/ipam.hpp"
#include "berth/net/link/links.hpp"
#include "berth/net/link/link_removal.hpp"
#include "fnv1a.hpp"
#include "native/state_store.hpp"
#include "link/sysctl.hpp"

#include <fmt/format.h>

#include <random>
#include <set>
#include <thread>

namespace berth::net {
namespace {

namespace fs = std::filesystem;
using core::Errc;
using core::make_error;
using core::Result;

/// A locally administered unicast MAC derived from the network and the
/// container: stable across retries, and known before any address is, so
/// the veth can be made while the IPAM allocates.
std::string mac_for(std::string_view network, std::string_view container_id) {
  const std::uint64_t h = fnv1a(container_id, fnv1a("#", fnv1a(network)));
  return fmt::format("02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", (h >> 32) & 0xff, (h >> 24) & 0xff, (h >> 16) & 0xff,
                     (h >> 8) & 0xff, h & 0xff);
}

/// Expands ranges into single ports, per address family of the container.
std::vector<PublishedPort> expand(const std::string& owner, const std::vector<PortMapping>& ports,
                                  const std::vector<InterfaceAddress>& addresses) {
  std::vector<PublishedPort> out;
  for (const auto& m : ports)
    for (const auto& a : addresses) {
      if (m.host_address && m.host_address->is_v4() != a.address.is_v4()) continue;
      for (int i = 0; i < m.count; ++i)
        out.push_back(PublishedPort{owner, m.protocol, m.host_address, static_cast<std::uint16_t>(m.host_port + i),
                                    a.address, static_cast<std::uint16_t>(m.container_port + i)});
    }
  return out;
}

FirewallNetwork firewall_network(const NetworkOptions& n) {
  FirewallNetwork f{n.name, n.bridge, {n.subnet}, n.internal};
  if (n.subnet6) f.subnets.push_back(*n.subnet6);
  return f;
}


class NativeBackend final : public Backend {
public:
  explicit NativeBackend(NativeBackendOptions o) : o_(std::move(o)) {}

  Result<void> open() {
    const auto& n = o_.network;
    if (auto v = validate_interface_name(n.bridge); !v) return std::move(v).error().wrap("bridge");
    if (!n.subnet.is_v4())
      return make_error(Errc::invalid_argument, fmt::format("subnet {} is not IPv4", n.subnet.to_string()));
    if (n.subnet6 && !n.subnet6->is_v6())
      return make_error(Errc::invalid_argument, fmt::format("subnet6 {} is not IPv6", n.subnet6->to_string()));
    if (auto r = core::make_directories(o_.state_dir, 0700); !r) return r;
    lock_path_ = o_.state_dir / "lock";
    auto lock = core::FileLock::acquire(lock_path_);
    if (!lock) return lock.error();

    // Other networks of this owner: no shared bridge, no overlapping subnet.
    auto networks = state::load_networks(o_.state_dir);
    if (!networks) return networks.error();
    for (const auto& other : *networks) {
      if (other.name == n.name) continue;
      if (other.bridge == n.bridge)
        return make_error(Errc::conflict, fmt::format("bridge '{}' belongs to network '{}'", n.bridge, other.name));
      std::vector<Subnet> mine{n.subnet}, theirs{other.subnet};
      if (n.subnet6) mine.push_back(*n.subnet6);
      if (other.subnet6) theirs.push_back(*other.subnet6);
      for (const auto& a : mine)
        for (const auto& b : theirs)
          if (a.overlaps(b))
            return make_error(Errc::conflict, fmt::format("subnet {} overlaps {} of network '{}'", a.to_string(),
                                                          b.to_string(), other.name));
    }
    for (const auto& other : *networks)
      if (other.name == n.name && other.bridge == n.bridge && other.subnet == n.subnet && other.internal == n.internal &&
          other.mtu == n.mtu && other.subnet6 == n.subnet6 && other.gateway == n.gateway && other.gateway6 == n.gateway6)
        network_saved_ = true;
    auto ipam4 = Ipam::open(n.name, n.subnet, o_.state_dir / "ipam", {.gateway = n.gateway});
    if (!ipam4) return ipam4.error();
    ipam4_.emplace(std::move(*ipam4));
    if (n.subnet6) {
      auto ipam6 = Ipam::open(n.name + "-v6", *n.subnet6, o_.state_dir / "ipam", {.gateway = n.gateway6});
      if (!ipam6) return ipam6.error();
      ipam6_.emplace(std::move(*ipam6));
    }

    auto links = o_.host_netns.empty() ? Links::open() : Links::open_in(o_.host_netns);
    if (!links) return links.error();
    links_.emplace(std::move(*links));

    if (o_.firewall) {
      firewall_ = o_.firewall;
    } else {
      auto fw = make_nft_firewall({.table = o_.firewall_table, .netns = o_.host_netns});
      if (!fw) return fw.error();
      firewall_ = std::move(*fw);
      // The expected firewall state of this owner, from every record on disk.
      FirewallState expected;
      for (const auto& other : *networks) {
        if (other.name == n.name) continue;
        expected.networks.push_back(firewall_network(other));
        auto atts = state::load_attachments(o_.state_dir, other.name);
        if (!atts) return atts.error();
        for (const auto& a : *atts) {
          auto p = expand(a.container_id, a.ports, a.addresses);
          expected.ports.insert(expected.ports.end(), p.begin(), p.end());
        }
      }
      firewall_->adopt(std::move(expected));
    }
    // This network's own ports join the expected state (shared firewalls too).
    auto atts = state::load_attachments(o_.state_dir, n.name);
    if (!atts) return atts.error();
    FirewallState merged = firewall_->state();
    for (const auto& a : *atts) {
      auto p = expand(a.container_id, a.ports, a.addresses);
      for (auto& x : p)
        if (std::find(merged.ports.begin(), merged.ports.end(), x) == merged.ports.end()) merged.ports.push_back(x);
    }
    if (std::none_of(merged.networks.begin(), merged.networks.end(), [&](const auto& f) { return f.name == n.name; }))
      if (std::any_of(networks->begin(), networks->end(), [&](const auto& x) { return x.name == n.name; }))
        merged.networks.push_back(firewall_network(n));
    firewall_->adopt(std::move(merged));
    return {};
  }

  std::string_view driver() const override { return "native"; }

  Result<void> ensure_network() override {
    auto lock = core::FileLock::acquire(lock_path_);
    if (!lock) return lock.error();
    auto r = ensure_locked();
    if (!r) return std::move(r).error().wrap(fmt::format("ensure network '{}'", o_.network.name));
    return r;
  }

  Result<Attachment> setup(const SetupRequest& req) override {
    const std::string what = fmt::format("attach container '{}' to network '{}'", req.container_id, o_.network.name);
    auto r = setup_checked(req);
    if (!r) return std::move(r).error().wrap(what);
    return r;
  }

  Result<void> check(const SetupRequest& req) override {
    const std::string what = fmt::format("check container '{}' on network '{}'", req.container_id, o_.network.name);
    auto r = check_impl(req);
    if (!r) return std::move(r).error().wrap(what);
    return r;
  }

  Result<std::vector<Attachment>> attachments() override {
    return state::load_attachments(o_.state_dir, o_.network.name);
  }

  Result<void> teardown(const TeardownRequest& req) override {
    const std::string what = fmt::format("detach container '{}' from network '{}'", req.container_id, o_.network.name);
    if (auto v = core::validate_container_id(req.container_id); !v) return std::move(v).error().wrap(what);
    auto lock = core::FileLock::acquire(lock_path_);
    if (!lock) return std::move(lock).error().wrap(what);
    return teardown_locked(req.container_id).result(what);
  }

  Result<void> remove_network() override {
    const auto& n = o_.network;
    const std::string what = fmt::format("remove network '{}'", n.name);
    auto lock = core::FileLock::acquire(lock_path_);
    if (!lock) return std::move(lock).error().wrap(what);
    auto attached = state::load_attachments(o_.state_dir, n.name);
    if (!attached) return std::move(attached).error().wrap(what);
    if (!attached->empty())
      return core::make_error(Errc::conflict, fmt::format("{}: {} container(s) are attached, the first '{}'", what,
                                                          attached->size(), attached->front().container_id));
    core::ErrorList errors;
    errors.add_if(firewall_->remove_network(n.name));
    errors.add_if(in_host([&]() -> Result<void> {
      auto removed = links_->remove_if_present(n.bridge);
      if (!removed) return removed.error();
      return {};
    }));
    // The address stores after the firewall and the bridge, so a failure
    // there leaves the network known and `remove_network` can be run again.
    if (errors.empty()) {
      errors.add_if(Ipam::erase(n.name, o_.state_dir / "ipam"));
      if (n.subnet6) errors.add_if(Ipam::erase(n.name + "-v6", o_.state_dir / "ipam"));
      errors.add_if(state::remove_network(o_.state_dir, n.name));
    }
    network_ready_ = network_saved_ = false;
    return errors.result(what);
  }

private:
  Result<void> ensure_locked() {
    if (network_ready_) return {};
    const auto& n = o_.network;
    if (!network_saved_)
      if (auto r = state::save_network(o_.state_dir, n); !r) return r;
    auto existing = links_->find_link(n.bridge);
    if (!existing) return existing.error();
    if (*existing && (*existing)->kind != "bridge")
      return make_error(Errc::conflict,
                        fmt::format("interface '{}' exists and is not a bridge ({})", n.bridge, (*existing)->kind));
    if (!*existing)
      // A MAC of its own: otherwise the bridge takes the lowest of its
      // ports' and changes it as containers come and go, and containers'
      // neighbour entries for their gateway go stale.
      if (auto r = links_->create_bridge(n.bridge, {.mtu = n.mtu, .mac = mac_for(n.name, "#bridge")});
          !r && r.error().code != std::errc::file_exists)
        return r;
    // Before the bridge comes up: its IPv6 link-local address must not sit in
    // duplicate address detection, or the host sends no neighbour
    // solicitations for forwarded packets (published ports over IPv6) meanwhile.
    if (auto r = in_host([&] { return set_sysctls(); }); !r) return r;
    // Snooping off: with it on, the kernel re-arms the multicast timers of
    // every port whenever one port changes state, so each attach and detach
    // costs O(containers). Off, multicast is flooded like ARP broadcasts
    // already are (and never silently stops, as snooping without a querier does).
    if (auto r = links_->set_multicast_snooping(n.bridge, false); !r) return r;
    if (!*existing || !(*existing)->up)
      if (auto r = links_->set_up(n.bridge); !r) return r;
    auto have = links_->list_addresses(n.bridge);
    if (!have) return have.error();
    std::vector<InterfaceAddress> want{{ipam4_->gateway(), n.subnet.prefix_length()}};
    if (ipam6_) want.push_back({ipam6_->gateway(), n.subnet6->prefix_length()});
    for (const auto& w : want)
      if (std::none_of(have->begin(), have->end(), [&](const AddressInfo& a) { return a.address == w; }))
        if (auto r = links_->add_address(n.bridge, w); !r && r.error().code != std::errc::file_exists) return r;
    if (auto r = firewall_->add_network(firewall_network(n)); !r) return r;
    network_ready_ = true;
    return {};
  }

  /// Runs `fn` in the host's namespace (this thread when that is ours).
  template <class F>
  Result<void> in_host(F&& fn) {
    if (o_.host_netns.empty()) return fn();
    return core::run_in_netns(o_.host_netns, std::forward<F>(fn));
  }

  /// Per interface, never global: forwarding on the bridge and the uplinks,
  /// route_localnet on the bridge only (for published ports on 127.0.0.1).
  Result<void> set_sysctls() {
    const auto& n = o_.network;
    std::vector<std::string> uplinks = o_.uplinks;
    if (uplinks.empty()) {
      auto routes = links_->list_routes();
      if (!routes) return routes.error();
      for (const auto& r : *routes)
        if (!r.destination && !r.device.empty() && std::find(uplinks.begin(), uplinks.end(), r.device) == uplinks.end())
          uplinks.push_back(r.device);
    }
    auto set = [](const std::string& path, const char* v) { return write_sysctl(path, v); };
    if (auto r = set(fmt::format("net/ipv4/conf/{}/forwarding", n.bridge), "1"); !r) return r;
    if (auto r = set(fmt::format("net/ipv4/conf/{}/route_localnet", n.bridge), "1"); !r) return r;
    for (const auto& u : uplinks)
      if (auto r = set(fmt::format("net/ipv4/conf/{}/forwarding", u), "1"); !r) return r;
    if (n.subnet6) {
      if (auto r = set(fmt::format("net/ipv6/conf/{}/accept_dad", n.bridge), "0"); !r) return r;
      // IPv6 forwarding is global before Linux 6.17's per-interface force_forwarding.
      if (sysctl_exists(fmt::format("net/ipv6/conf/{}/force_forwarding", n.bridge))) {
        if (auto r = set(fmt::format("net/ipv6/conf/{}/force_forwarding", n.bridge), "1"); !r) return r;
        for (const auto& u : uplinks)
          if (auto r = set(fmt::format("net/ipv6/conf/{}/force_forwarding", u), "1"); !r) return r;
      } else if (auto r = set("net/ipv6/conf/all/forwarding", "1"); !r) {
        return r;
      }
    }
    return {};
  }

  /// The veth pair, its host end attached to the bridge and up, without
  /// IPv6: a bridge port needs no addresses, and each IPv6-enabled port adds
  /// routes to the host's table that the kernel walks whole on every link
  /// event, so each attach and detach would cost O(containers). Runs in the
  /// host's namespace (its /proc/sys/net is the thread's).
  Result<void> make_host_veth(const std::string& veth, const std::string& ifname, const fs::path& netns, unsigned mtu,
                              const Attachment& a) {
    if (auto r = links_->create_veth(veth, {.name = ifname, .netns = netns, .mtu = mtu, .mac = a.mac},
                                     {.mtu = mtu, .master = o_.network.bridge});
        !r)
      return r;
    if (!ipv6_conf_) {
      auto dir = SysctlDir::open("net/ipv6/conf");
      if (!dir && dir.error().code != std::errc::no_such_file_or_directory) return dir.error();
      if (dir) ipv6_conf_.emplace(std::move(*dir));
    }
    if (ipv6_conf_)
      if (auto r = ipv6_conf_->write(veth + "/disable_ipv6", "1"); !r) return r;
    if (auto r = links_->set_up(veth); !r) return r;
    if (!a.ports.empty())
      if (auto r = links_->set_hairpin(veth, true); !r) return r;
    return {};
  }

  Result<std::vector<PortMapping>> validate_request(const SetupRequest& req) {
    if (auto v = core::validate_container_id(req.container_id); !v) return v.error();
    if (auto v = validate_interface_name(req.ifname); !v) return v.error();
    if (o_.network.internal && !req.ports.empty())
      return make_error(Errc::invalid_argument,
                        fmt::format("network '{}' is internal: it cannot publish ports", o_.network.name));
    std::vector<PortMapping> ports;
    for (const auto& p : req.ports) {
      if (auto v = validate(p); !v) return std::move(v).error().wrap(fmt::format("publish {}", to_string(p)));
      ports.push_back(p);
    }
    if (auto fd = core::open_netns(req.netns); !fd) return fd.error();
    return ports;
  }

  Result<Attachment> setup_checked(const SetupRequest& req) {
    auto ports = validate_request(req);
    if (!ports) return ports.error();
    auto lock = core::FileLock::acquire(lock_path_);
    if (!lock) return lock.error();
    if (auto r = ensure_locked(); !r) return std::move(r).error().wrap(fmt::format("network '{}'", o_.network.name));

    const std::string veth = host_veth_name(o_.network.name, req.container_id);
    auto previous = state::load_attachment(o_.state_dir, o_.network.name, req.container_id);
    if (!previous) return previous.error();
    if (*previous) {
      // Idempotent: the same container again gets what it has, if it is all there.
      auto link = links_->find_link(veth);
      if (link && *link) return **previous;
      (void)teardown_locked(req.container_id);  // a crash left it half-made
    } else if (auto stale = links_->remove_if_present(veth); !stale) {
      return stale.error();
    }

    Attachment a;
    a.container_id = req.container_id;
    a.network = o_.network.name;
    a.ifname = req.ifname;
    a.host_veth = veth;
    a.netns = req.netns;
    a.ports = *ports;
    a.hostname = req.hostname;
    a.aliases = req.aliases;

    // Every step registers its undo; a failure runs them in reverse.
    std::vector<std::function<void()>> undo;
    auto fail = [&](core::Error e) -> Result<Attachment> {
      for (auto it = undo.rbegin(); it != undo.rend(); ++it) (*it)();
      return e;
    };

    a.mac = mac_for(o_.network.name, req.container_id);
    const unsigned mtu = req.options.mtu ? req.options.mtu : o_.network.mtu;

    // The kernel makes the veth while the IPAM allocates (two independent
    // waits, ~1 ms each); links_ is used by that thread only until the join.
    Result<void> made = core::make_error(Errc::invalid_argument, "not started");
    std::thread make_veth([&] { made = in_host([&] { return make_host_veth(veth, req.ifname, req.netns, mtu, a); }); });
    auto allocate = [&]() -> Result<void> {
      auto v4 = req.options.ipv4 ? ipam4_->allocate(req.container_id, *req.options.ipv4)
                                 : ipam4_->allocate(req.container_id);
      if (!v4) return v4.error();
      undo.push_back([&] { (void)ipam4_->release(req.container_id); });
      a.addresses.push_back({*v4, o_.network.subnet.prefix_length()});
      a.gateways.push_back(ipam4_->gateway());
      if (ipam6_) {
        auto v6 = req.options.ipv6 ? ipam6_->allocate(req.container_id, *req.options.ipv6)
                                   : ipam6_->allocate(req.container_id);
        if (!v6) return v6.error();
        undo.push_back([&] { (void)ipam6_->release(req.container_id); });
        a.addresses.push_back({*v6, o_.network.subnet6->prefix_length()});
        a.gateways.push_back(ipam6_->gateway());
      } else if (req.options.ipv6) {
        return make_error(Errc::invalid_argument, fmt::format("network '{}' has no IPv6 subnet for {}",
                                                              o_.network.name, req.options.ipv6->to_string()));
      }
      return {};
    };
    auto allocated = allocate();
    make_veth.join();
    // The name is derived from this container: whatever exists under it is ours to remove.
    undo.push_back([&] { (void)links_->remove_if_present(veth); });
    if (!allocated) return fail(allocated.error());
    if (!made) return fail(made.error());

    // The record is written while the container's side is configured.
    Result<void> saved;
    std::thread save([&] { saved = state::save_attachment(o_.state_dir, a); });
    undo.push_back([&] { (void)state::remove_attachment(o_.state_dir, o_.network.name, req.container_id); });
    struct Join {
      std::thread& t;
      ~Join() {
        if (t.joinable()) t.join();
      }
    } join_save{save};
    auto inside = core::run_in_netns(req.netns, [&]() -> Result<void> {
      auto links = Links::open();
      if (!links) return links.error();
      if (auto r = links->set_up("lo"); !r) return r;
      // On an IPv4-only network the container's interface gets no IPv6
      // link-local address (Docker disables IPv6 there altogether): no
      // duplicate address detection, router solicitation or MLD report
      // flooded to every other container on the bridge.
      // (Through netlink: a /proc/sys write from each container's namespace
      // would make every later /proc/sys/net lookup on the host slower.)
      if (!ipam6_)
        if (auto r = links->stop_ipv6_autoconf(req.ifname); !r) return r;
      if (auto r = links->set_up(req.ifname); !r) return r;
      for (const auto& addr : a.addresses)
        if (auto r = links->add_address(req.ifname, addr); !r) return r;
      for (const auto& gw : a.gateways)
        if (auto r = links->add_route({.gateway = gw, .device = req.ifname}); !r) return r;
      return {};
    });
    if (!inside) {
      save.join();
      return fail(std::move(inside).error().wrap(fmt::format("configure '{}' in '{}'", req.ifname, req.netns.string())));
    }

    auto published = expand(req.container_id, a.ports, a.addresses);
    if (!published.empty()) {
      if (auto r = firewall_->add_ports(published); !r) {
        save.join();
        return fail(r.error());
      }
      undo.push_back([&] { (void)firewall_->remove_ports(req.container_id); });
    }
    save.join();
    if (!saved) return fail(saved.error());
    return a;
  }

  core::ErrorList teardown_locked(const std::string& id) {
    core::ErrorList errors;
    // The veth first. Deleting the host end takes the container end with
    // it, even when the container's namespace is already gone. Teardown goes
    // on once the kernel has unregistered it (about 1 ms); the kernel's wait
    // before it frees the device (~20 ms of RCU grace periods, which nobody
    // can observe) runs on the reaper's thread.
    Result<bool> removed = false;
    errors.add_if(in_host([&]() -> Result<void> {
      removed = reaper_.remove(host_veth_name(o_.network.name, id));
      return {};
    }));
    errors.add_if(removed);
    errors.add_if(state::load_attachment(o_.state_dir, o_.network.name, id));
    errors.add_if(firewall_->remove_ports(id));
    errors.add_if(ipam4_->release(id));
    if (ipam6_) errors.add_if(ipam6_->release(id));
    errors.add_if(state::remove_attachment(o_.state_dir, o_.network.name, id));
    return errors;
  }

  Result<void> check_impl(const SetupRequest& req) {
    if (auto v = core::validate_container_id(req.container_id); !v) return v.error();
    auto record = state::load_attachment(o_.state_dir, o_.network.name, req.container_id);
    if (!record) return record.error();
    if (!*record) return make_error(Errc::not_found, "the container is not attached");
    const Attachment& a = **record;
    auto host = links_->find_link(a.host_veth);
    if (!host) return host.error();
    if (!*host) return make_error(Errc::not_found, fmt::format("host interface '{}' is missing", a.host_veth));
    auto bridge = links_->get_link(o_.network.bridge);
    if (!bridge) return bridge.error();
    if ((*host)->master_index != bridge->index)
      return make_error(Errc::conflict, fmt::format("'{}' is not attached to bridge '{}'", a.host_veth, o_.network.bridge));
    return core::run_in_netns(req.netns.empty() ? a.netns : req.netns, [&]() -> Result<void> {
      auto links = Links::open();
      if (!links) return links.error();
      auto addrs = links->list_addresses(a.ifname);
      if (!addrs) return addrs.error();
      for (const auto& want : a.addresses)
        if (std::none_of(addrs->begin(), addrs->end(), [&](const AddressInfo& x) { return x.address == want; }))
          return make_error(Errc::not_found, fmt::format("address {} is missing from '{}'", want.to_string(), a.ifname));
      return {};
    });
  }

  NativeBackendOptions o_;
  fs::path lock_path_;
  std::optional<Ipam> ipam4_, ipam6_;
  std::optional<Links> links_;
  std::optional<SysctlDir> ipv6_conf_;  // the host's net/ipv6/conf; used by one thread at a time
  LinkReaper reaper_;  // joins the kernel's last waits on deleted veths when the backend goes
  std::shared_ptr<Firewall> firewall_;
  bool network_ready_ = false;
  bool network_saved_ = false;  // the record on disk already says what `o_.network` says
};

}  // namespace

std::string host_veth_name(std::string_view network, std::string_view container_id) {
  const std::uint64_t h = fnv1a(container_id, fnv1a("/", fnv1a(network)));
  return fmt::format("bv{:013x}", h & 0xfffffffffffffull);
}

Result<NetworkOptions> apply_environment(NetworkOptions options, const std::map<std::string, std::string>& environment) {
  auto value = [&](const char* key) -> std::string_view {
    auto it = environment.find(key);
    return it == environment.end() ? std::string_view() : std::string_view(it->second);
  };
  if (auto s = value("BERTH_CONTAINER_SUBNET"); !s.empty()) {
    auto subnet = Subnet::parse(s);
    if (!subnet) return std::move(subnet).error().wrap("BERTH_CONTAINER_SUBNET");
    options.subnet = *subnet;
  }
  if (auto g = value("BERTH_GATEWAY_IP"); !g.empty()) {
    auto ip = parse_address(g);
    if (!ip) return std::move(ip).error().wrap("BERTH_GATEWAY_IP");
    if (!options.subnet.contains(*ip))
      return make_error(Errc::invalid_argument, fmt::format("BERTH_GATEWAY_IP {} is outside the subnet {}",
                                                            ip->to_string(), options.subnet.to_string()));
    options.gateway = *ip;
  }
  return options;
}

Result<std::unique_ptr<Backend>> make_native_backend(NativeBackendOptions options) {
  const std::string name = options.network.name;
  auto b = std::make_unique<NativeBackend>(std::move(options));
  if (auto r = b->open(); !r) return std::move(r).error().wrap(fmt::format("open network '{}'", name));
  return std::unique_ptr<Backend>(std::move(b));
}

}  // namespace berth::net
