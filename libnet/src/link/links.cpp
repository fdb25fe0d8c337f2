// SPDX-License-Identifier: Apache-2.0
#include "berth/net/link/links.hpp"

#include "berth/core/netns.hpp"
#include "link/netlink.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/bridge.h>

#include <array>
#include <cerrno>

namespace berth::net {
namespace {

using core::Errc;
using core::make_error;
using core::Result;

Result<nl::NlAddr> parse_mac(std::string_view text) {
  auto bad = [&] {
    return make_error(Errc::invalid_argument, fmt::format("'{}' is not a MAC address (aa:bb:cc:dd:ee:ff)", text));
  };
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::array<unsigned char, 6> bytes{};
  if (text.size() != 17) return bad();
  for (size_t i = 0; i < 6; ++i) {
    int hi = hex(text[i * 3]), lo = hex(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':')) return bad();
    bytes[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  if (bytes[0] & 1) return make_error(Errc::invalid_argument, fmt::format("'{}' is a multicast MAC address", text));
  nl::NlAddr addr(nl_addr_build(AF_LLC, bytes.data(), bytes.size()));
  if (!addr) return core::errno_error(ENOMEM, "build MAC address");
  return addr;
}

Result<nl::NlAddr> to_nl_addr(const IpAddress& ip, unsigned prefix) {
  nl::NlAddr a;
  if (ip.is_v4()) {
    auto bytes = ip.to_v4().to_bytes();
    a.reset(nl_addr_build(AF_INET, bytes.data(), bytes.size()));
  } else {
    auto bytes = ip.to_v6().to_bytes();
    a.reset(nl_addr_build(AF_INET6, bytes.data(), bytes.size()));
  }
  if (!a) return core::errno_error(ENOMEM, "build address");
  nl_addr_set_prefixlen(a.get(), static_cast<int>(prefix));
  return a;
}

std::optional<IpAddress> from_nl_addr(nl_addr* a) {
  if (!a) return std::nullopt;
  auto* data = static_cast<const unsigned char*>(nl_addr_get_binary_addr(a));
  unsigned len = nl_addr_get_len(a);
  if (nl_addr_get_family(a) == AF_INET && len == 4) {
    boost::asio::ip::address_v4::bytes_type b{};
    std::copy(data, data + 4, b.begin());
    return IpAddress(boost::asio::ip::address_v4(b));
  }
  if (nl_addr_get_family(a) == AF_INET6 && len == 16) {
    boost::asio::ip::address_v6::bytes_type b{};
    std::copy(data, data + 16, b.begin());
    return IpAddress(boost::asio::ip::address_v6(b));
  }
  return std::nullopt;
}

LinkInfo to_info(rtnl_link* l) {
  LinkInfo info;
  info.index = rtnl_link_get_ifindex(l);
  if (const char* n = rtnl_link_get_name(l)) info.name = n;
  if (const char* t = rtnl_link_get_type(l)) info.kind = t;
  info.mtu = rtnl_link_get_mtu(l);
  if (nl_addr* mac = rtnl_link_get_addr(l); mac && nl_addr_get_len(mac) == 6) {
    char buf[32];
    info.mac = nl_addr2str(mac, buf, sizeof buf);
  }
  info.up = (rtnl_link_get_flags(l) & IFF_UP) != 0;
  info.master_index = rtnl_link_get_master(l);
  return info;
}

/// Route attributes shared by add and delete.
Result<nl::Route> build_route(const Route& r, int ifindex) {
  nl::Route route(rtnl_route_alloc());
  if (!route) return core::errno_error(ENOMEM, "allocate route");
  bool v6 = r.destination ? r.destination->is_v6() : (r.gateway ? r.gateway->is_v6() : r.v6);
  int family = v6 ? AF_INET6 : AF_INET;
  rtnl_route_set_family(route.get(), static_cast<uint8_t>(family));
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  rtnl_route_set_scope(route.get(), r.gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  IpAddress dst = r.destination ? r.destination->network()
                                : (v6 ? IpAddress(boost::asio::ip::address_v6()) : IpAddress(boost::asio::ip::address_v4()));
  auto nl_dst = to_nl_addr(dst, r.destination ? r.destination->prefix_length() : 0);
  if (!nl_dst) return nl_dst.error();
  if (int rc = rtnl_route_set_dst(route.get(), nl_dst->get()); rc < 0) return nl::from_nl(rc, "set destination");
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!nh) return core::errno_error(ENOMEM, "allocate nexthop");
  if (ifindex > 0) rtnl_route_nh_set_ifindex(nh, ifindex);
  if (r.gateway) {
    auto gw = to_nl_addr(*r.gateway, r.gateway->is_v4() ? 32 : 128);
    if (!gw) {
      rtnl_route_nh_free(nh);
      return gw.error();
    }
    rtnl_route_nh_set_gateway(nh, gw->get());
  }
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns nh now
  return route;
}

/// An RTM_*LINK request about link `index` with a bare header, for the
/// attributes libnl 3.7 has no setter for.
Result<nl::Msg> link_request(int type, unsigned char family, int index) {
  nl::Msg msg(nlmsg_alloc_simple(type, 0));
  if (!msg) return core::errno_error(ENOMEM, "allocate request");
  ifinfomsg ifi{};
  ifi.ifi_family = family;
  ifi.ifi_index = index;
  if (nlmsg_append(msg.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0) return core::errno_error(ENOMEM, "build request");
  return msg;
}

std::string describe(const Route& r) {
  std::string s = r.destination ? r.destination->to_string() : std::string(r.v6 ? "default (IPv6)" : "default");
  if (r.gateway) s += fmt::format(" via {}", r.gateway->to_string());
  if (!r.device.empty()) s += fmt::format(" dev {}", r.device);
  return s;
}

}  // namespace

Result<void> validate_interface_name(std::string_view name) {
  if (name.empty()) return make_error(Errc::invalid_argument, "interface name is empty");
  if (name.size() > kMaxInterfaceName)
    return make_error(Errc::invalid_argument, fmt::format("interface name '{}' is longer than {} characters",
                                                          name, kMaxInterfaceName));
  if (name == "." || name == "..")
    return make_error(Errc::invalid_argument, fmt::format("interface name '{}' is not allowed", name));
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (c == '/' || c == ':' || u <= ' ' || u == 0x7f)
      return make_error(Errc::invalid_argument,
                        fmt::format("interface name '{}' contains a character the kernel refuses", name));
  }
  return {};
}

struct Links::Impl {
  nl::Sock sk;

  /// The kernel's view of `name` (one RTM_GETLINK round trip).
  Result<nl::Link> get(std::string_view name) {
    if (auto v = validate_interface_name(name); !v) return v.error();
    rtnl_link* l = nullptr;
    std::string n(name);
    if (int rc = rtnl_link_get_kernel(sk.get(), 0, n.c_str(), &l); rc < 0) {
      if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) return core::errno_error(ENODEV, {});
      return nl::from_nl(rc, {});
    }
    return nl::Link(l);
  }

  Result<int> index_of(std::string_view name) {
    auto l = get(name);
    if (!l) return l.error();
    return rtnl_link_get_ifindex(l->get());
  }

  /// Applies `fill(change)` to the link `name` in one request.
  template <class Fill>
  Result<void> change(std::string_view name, Fill&& fill) {
    auto orig = get(name);
    if (!orig) return orig.error();
    nl::Link change(rtnl_link_alloc());
    if (!change) return core::errno_error(ENOMEM, "allocate link");
    if (auto r = fill(change.get()); !r) return r.error();
    nl_msg* raw = nullptr;
    if (int rc = rtnl_link_build_change_request(orig->get(), change.get(), 0, &raw); rc < 0)
      return nl::from_nl(rc, "build request");
    return nl::transact(sk.get(), nl::Msg(raw));
  }

  Result<void> apply_settings(rtnl_link* l, const LinkSettings& s) {
    if (s.mtu) rtnl_link_set_mtu(l, s.mtu);
    if (!s.mac.empty()) {
      auto mac = parse_mac(s.mac);
      if (!mac) return mac.error();
      rtnl_link_set_addr(l, mac->get());
    }
    if (!s.master.empty()) {
      auto master = index_of(s.master);
      if (!master) return std::move(master).error().wrap(fmt::format("find bridge '{}'", s.master));
      rtnl_link_set_master(l, *master);
    }
    if (s.up) rtnl_link_set_flags(l, IFF_UP);
    return {};
  }

  Result<void> add(rtnl_link* l) {
    nl_msg* raw = nullptr;
    if (int rc = rtnl_link_build_add_request(l, NLM_F_CREATE | NLM_F_EXCL, &raw); rc < 0)
      return nl::from_nl(rc, "build request");
    return nl::transact(sk.get(), nl::Msg(raw));
  }

  Result<void> address_op(std::string_view name, const InterfaceAddress& address, bool add, bool nodad) {
    auto index = index_of(name);
    if (!index) return index.error();
    nl::Addr a(rtnl_addr_alloc());
    if (!a) return core::errno_error(ENOMEM, "allocate address");
    rtnl_addr_set_ifindex(a.get(), *index);
    auto local = to_nl_addr(address.address, address.prefix_length);
    if (!local) return local.error();
    if (int rc = rtnl_addr_set_local(a.get(), local->get()); rc < 0) return nl::from_nl(rc, "set address");
    rtnl_addr_set_prefixlen(a.get(), static_cast<int>(address.prefix_length));
    if (add && nodad && address.address.is_v6()) rtnl_addr_set_flags(a.get(), IFA_F_NODAD);
    nl_msg* raw = nullptr;
    int rc = add ? rtnl_addr_build_add_request(a.get(), NLM_F_CREATE | NLM_F_EXCL, &raw)
                 : rtnl_addr_build_delete_request(a.get(), 0, &raw);
    if (rc < 0) return nl::from_nl(rc, "build request");
    return nl::transact(sk.get(), nl::Msg(raw));
  }

  Result<void> route_op(const Route& r, bool add) {
    int ifindex = 0;
    if (!r.device.empty()) {
      auto index = index_of(r.device);
      if (!index) return std::move(index).error().wrap(fmt::format("find device '{}'", r.device));
      ifindex = *index;
    } else if (!r.gateway) {
      return make_error(Errc::invalid_argument, "a route needs a gateway or a device");
    }
    if (r.destination && r.gateway && r.destination->is_v4() != r.gateway->is_v4())
      return make_error(Errc::invalid_argument, "destination and gateway are of different IP families");
    auto route = build_route(r, ifindex);
    if (!route) return route.error();
    nl_msg* raw = nullptr;
    int rc = add ? rtnl_route_build_add_request(route->get(), NLM_F_CREATE | NLM_F_EXCL, &raw)
                 : rtnl_route_build_del_request(route->get(), 0, &raw);
    if (rc < 0) return nl::from_nl(rc, "build request");
    return nl::transact(sk.get(), nl::Msg(raw));
  }
};

Links::Links(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Links::Links(Links&&) noexcept = default;
Links& Links::operator=(Links&&) noexcept = default;
Links::~Links() = default;

Result<Links> Links::open() {
  auto sk = nl::connect_route();
  if (!sk) return std::move(sk).error().wrap("open links");
  auto impl = std::make_unique<Impl>();
  impl->sk = std::move(*sk);
  return Links(std::move(impl));
}

Result<Links> Links::open_in(const std::filesystem::path& netns) {
  auto r = core::run_in_netns(netns, [] { return open(); });
  if (!r) return std::move(r).error().wrap(fmt::format("open links in '{}'", netns.string()));
  return r;
}

Result<void> Links::create_bridge(std::string_view name, const LinkSettings& settings) {
  const std::string what = fmt::format("create bridge '{}'", name);
  if (auto v = validate_interface_name(name); !v) return std::move(v).error().wrap(what);
  nl::Link l(rtnl_link_bridge_alloc());
  if (!l) return core::errno_error(ENOMEM, what);
  rtnl_link_set_name(l.get(), std::string(name).c_str());
  if (auto r = impl_->apply_settings(l.get(), settings); !r) return std::move(r).error().wrap(what);
  if (auto r = impl_->add(l.get()); !r) return std::move(r).error().wrap(what);
  return {};
}

Result<void> Links::create_veth(std::string_view name, const VethPeer& peer, const LinkSettings& settings) {
  const std::string what = fmt::format("create veth '{}'", name);
  if (auto v = validate_interface_name(name); !v) return std::move(v).error().wrap(what);
  if (auto v = validate_interface_name(peer.name); !v) return std::move(v).error().wrap(what);
  core::UniqueFd ns;
  if (!peer.netns.empty()) {
    auto fd = core::open_netns(peer.netns);
    if (!fd) return std::move(fd).error().wrap(what);
    ns = std::move(*fd);
  }
  nl::VethLink l(rtnl_link_veth_alloc());
  if (!l) return core::errno_error(ENOMEM, what);
  rtnl_link_set_name(l.get(), std::string(name).c_str());
  if (auto r = impl_->apply_settings(l.get(), settings); !r) return std::move(r).error().wrap(what);
  // In libnl 3.7 get_peer returns a new reference (DEPENDENCIES.md, pitfall 12).
  nl::Link p(rtnl_link_veth_get_peer(l.get()));
  rtnl_link_set_name(p.get(), peer.name.c_str());
  if (peer.mtu) rtnl_link_set_mtu(p.get(), peer.mtu);
  else if (settings.mtu) rtnl_link_set_mtu(p.get(), settings.mtu);
  if (!peer.mac.empty()) {
    auto mac = parse_mac(peer.mac);
    if (!mac) return std::move(mac).error().wrap(what);
    rtnl_link_set_addr(p.get(), mac->get());
  }
  if (ns) rtnl_link_set_ns_fd(p.get(), ns.get());
  if (auto r = impl_->add(l.get()); !r) return std::move(r).error().wrap(what);
  return {};
}

Result<void> Links::remove(std::string_view name) {
  const std::string what = fmt::format("delete link '{}'", name);
  if (auto v = validate_interface_name(name); !v) return std::move(v).error().wrap(what);
  nl::Link l(rtnl_link_alloc());
  if (!l) return core::errno_error(ENOMEM, what);
  rtnl_link_set_name(l.get(), std::string(name).c_str());
  nl_msg* raw = nullptr;
  if (int rc = rtnl_link_build_delete_request(l.get(), &raw); rc < 0) return nl::from_nl(rc, what);
  if (auto r = nl::transact(impl_->sk.get(), nl::Msg(raw)); !r) return std::move(r).error().wrap(what);
  return {};
}

Result<bool> Links::remove_if_present(std::string_view name) {
  auto r = remove(name);
  if (r) return true;
  if (r.error().code == std::errc::no_such_device) return false;
  return r.error();
}

Result<void> Links::move_to_netns(std::string_view name, const std::filesystem::path& netns) {
  const std::string what = fmt::format("move link '{}' to '{}'", name, netns.string());
  auto fd = core::open_netns(netns);
  if (!fd) return std::move(fd).error().wrap(what);
  auto r = impl_->change(name, [&](rtnl_link* c) -> Result<void> {
    rtnl_link_set_ns_fd(c, fd->get());
    return {};
  });
  if (!r) return std::move(r).error().wrap(what);
  return {};
}

Result<void> Links::rename(std::string_view name, std::string_view new_name) {
  const std::string what = fmt::format("rename link '{}' to '{}'", name, new_name);
  if (auto v = validate_interface_name(new_name); !v) return std::move(v).error().wrap(what);
  auto r = impl_->change(name, [&](rtnl_link* c) -> Result<void> {
    rtnl_link_set_name(c, std::string(new_name).c_str());
    return {};
  });
  if (!r) return std::move(r).error().wrap(what);
  return {};
}

Result<void> Links::set_mtu(std::string_view name, unsigned mtu) {
  auto r = impl_->change(name, [&](rtnl_link* c) -> Result<void> {
    rtnl_link_set_mtu(c, mtu);
    return {};
  });
  if (!r) return std::move(r).error().wrap(fmt::format("set MTU {} on '{}'", mtu, name));
  return {};
}

Result<void> Links::set_mac(std::string_view name, std::string_view mac) {
  auto r = impl_->change(name, [&](rtnl_link* c) -> Result<void> {
    auto a = parse_mac(mac);
    if (!a) return a.error();
    rtnl_link_set_addr(c, a->get());
    return {};
  });
  if (!r) return std::move(r).error().wrap(fmt::format("set MAC on '{}'", name));
  return {};
}

Result<void> Links::set_up(std::string_view name) {
  auto r = impl_->change(name, [](rtnl_link* c) -> Result<void> {
    rtnl_link_set_flags(c, IFF_UP);
    return {};
  });
  if (!r) return std::move(r).error().wrap(fmt::format("set link '{}' up", name));
  return {};
}

Result<void> Links::set_down(std::string_view name) {
  auto r = impl_->change(name, [](rtnl_link* c) -> Result<void> {
    rtnl_link_unset_flags(c, IFF_UP);
    return {};
  });
  if (!r) return std::move(r).error().wrap(fmt::format("set link '{}' down", name));
  return {};
}

Result<void> Links::set_hairpin(std::string_view name, bool on) {
  const std::string what = fmt::format("set hairpin mode on '{}'", name);
  auto index = impl_->index_of(name);
  if (!index) return std::move(index).error().wrap(what);
  // RTM_SETLINK for the bridge family with IFLA_PROTINFO { IFLA_BRPORT_MODE };
  // libnl 3.7 has no setter for a port's hairpin flag.
  auto msg = link_request(RTM_SETLINK, AF_BRIDGE, *index);
  if (!msg) return std::move(msg).error().wrap(what);
  nlattr* protinfo = nla_nest_start(msg->get(), IFLA_PROTINFO | NLA_F_NESTED);
  if (!protinfo || nla_put_u8(msg->get(), IFLA_BRPORT_MODE, on ? 1 : 0) < 0) return core::errno_error(ENOMEM, what);
  nla_nest_end(msg->get(), protinfo);
  if (auto r = nl::transact(impl_->sk.get(), std::move(*msg)); !r) return std::move(r).error().wrap(what);
  return {};
}

Result<void> Links::set_multicast_snooping(std::string_view bridge, bool on) {
  const std::string what = fmt::format("turn multicast snooping {} on bridge '{}'", on ? "on" : "off", bridge);
  auto index = impl_->index_of(bridge);
  if (!index) return std::move(index).error().wrap(what);
  // RTM_NEWLINK on the existing bridge with IFLA_LINKINFO { "bridge",
  // IFLA_INFO_DATA { IFLA_BR_MCAST_SNOOPING } }; libnl 3.7 has no setter for it.
  auto msg = link_request(RTM_NEWLINK, AF_UNSPEC, *index);
  if (!msg) return std::move(msg).error().wrap(what);
  nlattr* linkinfo = nla_nest_start(msg->get(), IFLA_LINKINFO);
  if (!linkinfo || nla_put_string(msg->get(), IFLA_INFO_KIND, "bridge") < 0) return core::errno_error(ENOMEM, what);
  nlattr* data = nla_nest_start(msg->get(), IFLA_INFO_DATA);
  if (!data || nla_put_u8(msg->get(), IFLA_BR_MCAST_SNOOPING, on ? 1 : 0) < 0) return core::errno_error(ENOMEM, what);
  nla_nest_end(msg->get(), data);
  nla_nest_end(msg->get(), linkinfo);
  if (auto r = nl::transact(impl_->sk.get(), std::move(*msg)); !r) return std::move(r).error().wrap(what);
  return {};
}

Result<void> Links::stop_ipv6_autoconf(std::string_view name) {
  const std::string what = fmt::format("stop IPv6 address generation on '{}'", name);
  auto index = impl_->index_of(name);
  if (!index) return std::move(index).error().wrap(what);
  // RTM_SETLINK with IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE } };
  // libnl 3.7's rtnl_link_inet6_set_addr_gen_mode needs a cached link first.
  auto msg = link_request(RTM_SETLINK, AF_UNSPEC, *index);
  if (!msg) return std::move(msg).error().wrap(what);
  nlattr* spec = nla_nest_start(msg->get(), IFLA_AF_SPEC);
  nlattr* inet6 = spec ? nla_nest_start(msg->get(), AF_INET6) : nullptr;
  if (!inet6 || nla_put_u8(msg->get(), IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE) < 0)
    return core::errno_error(ENOMEM, what);
  nla_nest_end(msg->get(), inet6);
  nla_nest_end(msg->get(), spec);
  auto r = nl::transact(impl_->sk.get(), std::move(*msg));
  if (!r && r.error().code == std::errc::address_family_not_supported) return {};  // no IPv6 here
  if (!r) return std::move(r).error().wrap(what);
  return {};
}

Result<void> Links::set_master(std::string_view name, std::string_view master) {
  const std::string what = master.empty() ? fmt::format("detach link '{}'", name)
                                          : fmt::format("attach link '{}' to '{}'", name, master);
  int master_index = 0;
  if (!master.empty()) {
    auto m = impl_->index_of(master);
    if (!m) return std::move(m).error().wrap(what);
    master_index = *m;
  }
  auto r = impl_->change(name, [&](rtnl_link* c) -> Result<void> {
    rtnl_link_set_master(c, master_index);
    return {};
  });
  if (!r) return std::move(r).error().wrap(what);
  return {};
}

Result<void> Links::add_address(std::string_view name, const InterfaceAddress& address, bool nodad) {
  auto r = impl_->address_op(name, address, true, nodad);
  if (!r) return std::move(r).error().wrap(fmt::format("add address {} to '{}'", address.to_string(), name));
  return {};
}

Result<void> Links::remove_address(std::string_view name, const InterfaceAddress& address) {
  auto r = impl_->address_op(name, address, false, false);
  if (!r) return std::move(r).error().wrap(fmt::format("remove address {} from '{}'", address.to_string(), name));
  return {};
}

Result<void> Links::add_route(const Route& route) {
  auto r = impl_->route_op(route, true);
  if (!r) return std::move(r).error().wrap(fmt::format("add route {}", describe(route)));
  return {};
}

Result<void> Links::remove_route(const Route& route) {
  auto r = impl_->route_op(route, false);
  if (!r) return std::move(r).error().wrap(fmt::format("remove route {}", describe(route)));
  return {};
}

Result<std::vector<LinkInfo>> Links::list_links() {
  nl_cache* raw = nullptr;
  if (int rc = rtnl_link_alloc_cache(impl_->sk.get(), AF_UNSPEC, &raw); rc < 0) return nl::from_nl(rc, "list links");
  nl::Cache cache(raw);
  std::vector<LinkInfo> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o))
    out.push_back(to_info(reinterpret_cast<rtnl_link*>(o)));
  return out;
}

Result<std::optional<LinkInfo>> Links::find_link(std::string_view name) {
  auto l = impl_->get(name);
  if (!l) {
    if (l.error().code == std::errc::no_such_device) return std::optional<LinkInfo>{};
    return std::move(l).error().wrap(fmt::format("find link '{}'", name));
  }
  return std::optional<LinkInfo>(to_info(l->get()));
}

Result<LinkInfo> Links::get_link(std::string_view name) {
  auto l = impl_->get(name);
  if (!l) return std::move(l).error().wrap(fmt::format("find link '{}'", name));
  return to_info(l->get());
}

Result<std::vector<AddressInfo>> Links::list_addresses(std::string_view name) {
  int only = 0;
  if (!name.empty()) {
    auto index = impl_->index_of(name);
    if (!index) return std::move(index).error().wrap(fmt::format("list addresses of '{}'", name));
    only = *index;
  }
  nl_cache* raw = nullptr;
  if (int rc = rtnl_addr_alloc_cache(impl_->sk.get(), &raw); rc < 0) return nl::from_nl(rc, "list addresses");
  nl::Cache cache(raw);
  std::vector<AddressInfo> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    int index = rtnl_addr_get_ifindex(a);
    if (only && index != only) continue;
    auto ip = from_nl_addr(rtnl_addr_get_local(a));
    if (!ip) continue;
    out.push_back(AddressInfo{index, InterfaceAddress{*ip, static_cast<unsigned>(rtnl_addr_get_prefixlen(a))}});
  }
  return out;
}

Result<std::vector<Route>> Links::list_routes() {
  nl_cache* raw = nullptr;
  if (int rc = rtnl_route_alloc_cache(impl_->sk.get(), AF_UNSPEC, 0, &raw); rc < 0)
    return nl::from_nl(rc, "list routes");
  nl::Cache cache(raw);
  auto links = list_links();
  if (!links) return links.error();
  std::vector<Route> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* r = reinterpret_cast<rtnl_route*>(o);
    if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST) continue;
    int family = rtnl_route_get_family(r);
    if (family != AF_INET && family != AF_INET6) continue;
    Route route;
    route.v6 = family == AF_INET6;
    nl_addr* dst = rtnl_route_get_dst(r);
    if (dst && nl_addr_get_prefixlen(dst) > 0) {
      auto ip = from_nl_addr(dst);
      if (!ip) continue;
      auto subnet = Subnet::containing(*ip, nl_addr_get_prefixlen(dst));
      if (!subnet) continue;
      route.destination = *subnet;
    }
    if (rtnl_route_get_nnexthops(r) > 0) {
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      route.gateway = from_nl_addr(rtnl_route_nh_get_gateway(nh));
      int ifindex = rtnl_route_nh_get_ifindex(nh);
      for (const auto& l : *links)
        if (l.index == ifindex) route.device = l.name;
    }
    out.push_back(std::move(route));
  }
  return out;
}

}  // namespace berth::net
