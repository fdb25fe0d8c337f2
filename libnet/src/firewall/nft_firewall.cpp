// SPDX-License-Identifier: Apache-2.0
// berth's nftables ruleset. One table per owner (`inet <owner>`):
//
//   chain prerouting  nat  dstnat   fib daddr type local jump portmap
//   chain output      nat  -100     fib daddr type local jump portmap
//   chain portmap     dnat through the maps pm4 / pm4any / pm6 / pm6any, keyed
//                     by protocol . [host address .] port, so one mapping is one
//                     element and costs the same with 10 000 present as with none
//   chain postrouting nat  srcnat   localhost -> published port: masquerade
//                                   (with route_localnet on the bridge only)
//                                   jump masq
//   chain masq        per network (rules tagged "net:<name>"): hairpin and
//                     egress masquerade of its subnets; nothing for internal ones
//   chain forward     filter        internal networks reach only their own bridge;
//                                   published (DNATed) traffic is accepted; bridges
//                                   are isolated unless the pair is in @pairs;
//                                   unsolicited traffic into a bridge is dropped
//
// Networks and ports are set elements and tagged rules, so every change is
// one small transaction and nothing outside the owner's table is touched.
#include "berth/net/firewall/firewall.hpp"

#include "berth/core/log.hpp"
#include "berth/core/names.hpp"
#include "berth/core/netns.hpp"
#include "berth/core/unique_fd.hpp"
#include "fnv1a.hpp"
#include "firewall/nft.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/rtnetlink.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <set>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace berth::net {
namespace {

using core::Errc;
using core::make_error;
using core::Result;
using nft::Element;
using nft::RuleSpec;
using nft::SetSpec;

// nftables data type ids (nftables' datatype.h); a concatenation packs them 6 bits apart.
constexpr std::uint32_t kTypeIpAddr = 7, kTypeIp6Addr = 8, kTypeInetProto = 12, kTypeInetService = 13,
                        kTypeIfname = 41;
constexpr std::uint32_t concat(std::uint32_t a, std::uint32_t b) { return (a << 6) | b; }

const SetSpec kBridges{"bridges", kTypeIfname, 16};
const SetSpec kInternal{"internal", kTypeIfname, 16};
const SetSpec kPairs{"pairs", concat(kTypeIfname, kTypeIfname), 32};
const SetSpec kPm4{"pm4", concat(concat(kTypeInetProto, kTypeIpAddr), kTypeInetService), 12,
                   concat(kTypeIpAddr, kTypeInetService), 8};
const SetSpec kPm4Any{"pm4any", concat(kTypeInetProto, kTypeInetService), 8, concat(kTypeIpAddr, kTypeInetService), 8};
const SetSpec kPm6{"pm6", concat(concat(kTypeInetProto, kTypeIp6Addr), kTypeInetService), 24,
                   concat(kTypeIp6Addr, kTypeInetService), 20};
const SetSpec kPm6Any{"pm6any", concat(kTypeInetProto, kTypeInetService), 8, concat(kTypeIp6Addr, kTypeInetService),
                      20};
const SetSpec* const kSets[] = {&kBridges, &kInternal, &kPairs, &kPm4, &kPm4Any, &kPm6, &kPm6Any};

std::uint32_t set_id(const SetSpec& s) {
  for (std::uint32_t i = 0; i < std::size(kSets); ++i)
    if (kSets[i] == &s) return i + 1;
  return 0;
}

const std::vector<nft::ChainSpec>& chains() {
  static const std::vector<nft::ChainSpec> c = {
      {"prerouting", "nat", NF_INET_PRE_ROUTING, -100},
      {"output", "nat", NF_INET_LOCAL_OUT, -100},
      {"portmap", "", std::nullopt, 0},
      {"postrouting", "nat", NF_INET_POST_ROUTING, 100},
      {"masq", "", std::nullopt, 0},
      {"forward", "filter", NF_INET_FORWARD, 0},
  };
  return c;
}

// Expression snippets --------------------------------------------------------

void match_nfproto(nftnl_rule* r, std::uint8_t proto) {
  nft::meta_load(r, NFT_META_NFPROTO, NFT_REG_1);
  nft::cmp(r, NFT_REG_1, NFT_CMP_EQ, &proto, 1);
}

void match_ct_status(nftnl_rule* r, std::uint32_t bits) {
  nft::ct_load(r, NFT_CT_STATUS, NFT_REG_1);
  nft::bitwise_mask(r, NFT_REG_1, &bits, 4);
  std::uint32_t zero = 0;
  nft::cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, 4);
}

void match_ct_state(nftnl_rule* r, std::uint32_t bits) {
  nft::ct_load(r, NFT_CT_STATE, NFT_REG_1);
  nft::bitwise_mask(r, NFT_REG_1, &bits, 4);
  std::uint32_t zero = 0;
  nft::cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, 4);
}

/// saddr (or daddr) within `subnet` (or, with `inside` false, outside it), for the subnet's family.
void match_addr(nftnl_rule* r, const Subnet& subnet, bool source, bool inside = true) {
  const bool v4 = subnet.is_v4();
  const std::uint32_t len = v4 ? 4 : 16;
  const std::uint32_t offset = v4 ? (source ? 12 : 16) : (source ? 8 : 24);
  nft::payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, offset, len, NFT_REG_1);
  std::array<unsigned char, 16> mask{}, net{};
  unsigned bits = subnet.prefix_length();
  for (unsigned i = 0; i < len; ++i) {
    unsigned take = std::min(8u, bits);
    mask[i] = static_cast<unsigned char>(take == 0 ? 0 : (0xff << (8 - take)) & 0xff);
    bits -= take;
  }
  if (v4) {
    auto b = subnet.network().to_v4().to_bytes();
    std::copy(b.begin(), b.end(), net.begin());
  } else {
    auto b = subnet.network().to_v6().to_bytes();
    std::copy(b.begin(), b.end(), net.begin());
  }
  if (subnet.prefix_length() < len * 8) nft::bitwise_mask(r, NFT_REG_1, mask.data(), len);
  nft::cmp(r, NFT_REG_1, inside ? NFT_CMP_EQ : NFT_CMP_NEQ, net.data(), len);
}

/// DNAT through a port map: the key is l4proto . [daddr .] dport, the data
/// daddr . dport. Registers are 32-bit slots; an IPv6 address takes four.
void dnat_through(nftnl_rule* r, const SetSpec& map, bool keyed_by_address) {
  const bool v4 = &map == &kPm4 || &map == &kPm4Any;
  const std::uint32_t addr_len = v4 ? 4 : 16;
  match_nfproto(r, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
  nft::meta_load(r, NFT_META_L4PROTO, NFT_REG32_00);
  std::uint32_t port_reg = NFT_REG32_01;
  if (keyed_by_address) {
    nft::payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, v4 ? 16 : 24, addr_len, NFT_REG32_01);
    port_reg = NFT_REG32_01 + addr_len / 4;
  }
  nft::payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, port_reg);
  nft::lookup(r, map.name, set_id(map), NFT_REG32_00, NFT_REG_1, false);
  nft::dnat(r, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6, NFT_REG32_00, NFT_REG32_00 + addr_len / 4);
}

std::string ifname_key(std::string_view name) {
  std::string k(16, '\0');
  std::memcpy(k.data(), name.data(), std::min<std::size_t>(name.size(), 15));
  return k;
}

std::string render(const std::function<void(nftnl_rule*)>& fill) {
  nft::Rule r(nftnl_rule_alloc());
  fill(r.get());
  return nft::render_exprs(r.get());
}

/// A rule whose comment is "<tag> <hash of its expressions>". The kernel
/// reports registers and defaults in its own normal form, so rules are
/// recognised by this comment rather than by comparing expressions: a rule
/// someone replaced or rewrote no longer carries it.
RuleSpec rule(std::string chain, std::function<void(nftnl_rule*)> fill, std::string tag = "berth") {
  const std::uint64_t h = fnv1a(chain + render(fill));
  return RuleSpec{std::move(chain), std::move(fill), fmt::format("{} {:016x}", tag, h)};
}

/// The rules every owner's table has, in chain order.
const std::vector<RuleSpec>& base_rules() {
  static const std::vector<RuleSpec> rules = [] {
    std::vector<RuleSpec> v;
    auto local_jump = [](nftnl_rule* r) {
      nft::fib_daddr_type(r, NFT_REG_1);
      std::uint32_t local = RTN_LOCAL;
      nft::cmp(r, NFT_REG_1, NFT_CMP_EQ, &local, 4);
      nft::verdict(r, NFT_JUMP, "portmap");
    };
    v.push_back(rule("prerouting", local_jump));
    v.push_back(rule("output", local_jump));
    // l4proto . [daddr .] dport -> daddr . dport, one rule per map.
    v.push_back(rule("portmap", [](nftnl_rule* r) { dnat_through(r, kPm4, true); }));
    v.push_back(rule("portmap", [](nftnl_rule* r) { dnat_through(r, kPm4Any, false); }));
    v.push_back(rule("portmap", [](nftnl_rule* r) { dnat_through(r, kPm6, true); }));
    v.push_back(rule("portmap", [](nftnl_rule* r) { dnat_through(r, kPm6Any, false); }));
    // Host -> 127.0.0.1:published: the reply must come back to us, and a
    // loopback source may not leave through the bridge (route_localnet is set
    // on berth's bridges only).
    v.push_back(rule("postrouting", [](nftnl_rule* r) {
      match_nfproto(r, NFPROTO_IPV4);
      match_ct_status(r, IPS_DST_NAT);
      match_addr(r, *Subnet::parse("127.0.0.0/8"), true);
      nft::meta_load(r, NFT_META_OIFNAME, NFT_REG_1);
      nft::lookup(r, kBridges.name, set_id(kBridges), NFT_REG_1, std::nullopt, false);
      nft::masquerade(r);
    }));
    v.push_back(rule("postrouting", [](nftnl_rule* r) { nft::verdict(r, NFT_JUMP, "masq"); }));
    // forward: internal networks first, so nothing below can let them out.
    v.push_back(rule("forward", [](nftnl_rule* r) {
      nft::meta_load(r, NFT_META_IIFNAME, NFT_REG32_00);
      nft::lookup(r, kInternal.name, set_id(kInternal), NFT_REG32_00, std::nullopt, false);
      nft::meta_load(r, NFT_META_OIFNAME, NFT_REG32_04);
      nft::lookup(r, kPairs.name, set_id(kPairs), NFT_REG32_00, std::nullopt, true);
      nft::verdict(r, NF_DROP);
    }));
    v.push_back(rule("forward", [](nftnl_rule* r) {
      nft::meta_load(r, NFT_META_OIFNAME, NFT_REG32_04);
      nft::lookup(r, kInternal.name, set_id(kInternal), NFT_REG32_04, std::nullopt, false);
      nft::meta_load(r, NFT_META_IIFNAME, NFT_REG32_00);
      nft::lookup(r, kPairs.name, set_id(kPairs), NFT_REG32_00, std::nullopt, true);
      nft::verdict(r, NF_DROP);
    }));
    v.push_back(rule("forward", [](nftnl_rule* r) {
      match_ct_status(r, IPS_DST_NAT);
      nft::verdict(r, NF_ACCEPT);
    }));
    v.push_back(rule("forward", [](nftnl_rule* r) {
      nft::meta_load(r, NFT_META_IIFNAME, NFT_REG32_00);
      nft::lookup(r, kBridges.name, set_id(kBridges), NFT_REG32_00, std::nullopt, false);
      nft::meta_load(r, NFT_META_OIFNAME, NFT_REG32_04);
      nft::lookup(r, kBridges.name, set_id(kBridges), NFT_REG32_04, std::nullopt, false);
      nft::lookup(r, kPairs.name, set_id(kPairs), NFT_REG32_00, std::nullopt, true);
      nft::verdict(r, NF_DROP);
    }));
    v.push_back(rule("forward", [](nftnl_rule* r) {
      nft::meta_load(r, NFT_META_OIFNAME, NFT_REG_1);
      nft::lookup(r, kBridges.name, set_id(kBridges), NFT_REG_1, std::nullopt, false);
      nft::meta_load(r, NFT_META_IIFNAME, NFT_REG_1);
      nft::lookup(r, kBridges.name, set_id(kBridges), NFT_REG_1, std::nullopt, true);
      match_ct_state(r, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
      nft::verdict(r, NF_ACCEPT);
    }));
    v.push_back(rule("forward", [](nftnl_rule* r) {
      nft::meta_load(r, NFT_META_OIFNAME, NFT_REG_1);
      nft::lookup(r, kBridges.name, set_id(kBridges), NFT_REG_1, std::nullopt, false);
      nft::meta_load(r, NFT_META_IIFNAME, NFT_REG_1);
      nft::lookup(r, kBridges.name, set_id(kBridges), NFT_REG_1, std::nullopt, true);
      nft::verdict(r, NF_DROP);
    }));
    return v;
  }();
  return rules;
}

std::string network_tag(std::string_view name) { return fmt::format("net:{}", name); }
bool is_network_rule(const std::string& comment, std::string_view name) {
  return comment.starts_with(network_tag(name) + " ");
}

/// Hairpin and egress masquerade of a network's subnets.
std::vector<RuleSpec> network_rules(const FirewallNetwork& n) {
  std::vector<RuleSpec> v;
  if (n.internal) return v;
  for (const Subnet& s : n.subnets) {
    const std::uint8_t family = s.is_v4() ? NFPROTO_IPV4 : NFPROTO_IPV6;
    // A container reaching a published port through the host: the reply must
    // come back through us to be un-DNATed.
    v.push_back(rule("masq", [s, family](nftnl_rule* r) {
      match_nfproto(r, family);
      match_ct_status(r, IPS_DST_NAT);
      match_addr(r, s, true);
      nft::masquerade(r);
    }, network_tag(n.name)));
    // Leaving the bridge: masquerade (traffic that stays on it keeps its address).
    v.push_back(rule("masq", [s, family, bridge = ifname_key(n.bridge)](nftnl_rule* r) {
      match_nfproto(r, family);
      match_addr(r, s, true);
      nft::meta_load(r, NFT_META_OIFNAME, NFT_REG_1);
      nft::cmp(r, NFT_REG_1, NFT_CMP_NEQ, bridge.data(), 16);
      nft::masquerade(r);
    }, network_tag(n.name)));
  }
  return v;
}

std::string zone_tag(std::string_view name) { return fmt::format("zone:{}", name); }
bool is_zone_rule(const std::string& comment, std::string_view name) {
  return comment.starts_with(zone_tag(name) + " ");
}
bool is_any_zone_rule(const std::string& comment) { return comment.starts_with("zone:"); }

/// A zone's rules, appended to the forward and masq chains (after the base
/// rules, which only concern berth's own bridges).
std::vector<RuleSpec> zone_rules(const FirewallZone& z) {
  std::vector<RuleSpec> v;
  const std::string tag = zone_tag(z.name);
  auto family = [](const Subnet& s) -> std::uint8_t { return s.is_v4() ? NFPROTO_IPV4 : NFPROTO_IPV6; };
  for (const Subnet& d : z.subnets)
    v.push_back(rule("forward", [d, f = family(d)](nftnl_rule* r) {
      match_nfproto(r, f);
      match_addr(r, d, false);
      match_ct_state(r, NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED));
      nft::verdict(r, NF_ACCEPT);
    }, tag));
  for (const Subnet& s : z.subnets)
    for (const Subnet& d : z.subnets)
      if (s.is_v4() == d.is_v4())
        v.push_back(rule("forward", [s, d, f = family(d)](nftnl_rule* r) {
          match_nfproto(r, f);
          match_addr(r, s, true);
          match_addr(r, d, false);
          nft::verdict(r, NF_ACCEPT);
        }, tag));
  for (const Subnet& d : z.subnets)
    v.push_back(rule("forward", [d, f = family(d)](nftnl_rule* r) {
      match_nfproto(r, f);
      match_addr(r, d, false);
      nft::verdict(r, NF_DROP);
    }, tag));
  for (const Subnet& m : z.masquerade) {
    std::vector<Subnet> own;
    for (const Subnet& s : z.subnets)
      if (s.is_v4() == m.is_v4()) own.push_back(s);
    v.push_back(rule("masq", [m, own, f = family(m)](nftnl_rule* r) {
      match_nfproto(r, f);
      match_addr(r, m, true);
      for (const Subnet& s : own) match_addr(r, s, false, false);
      nft::masquerade(r);
    }, tag));
  }
  return v;
}

std::string addr_bytes(const IpAddress& a) {
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    return std::string(b.begin(), b.end());
  }
  auto b = a.to_v6().to_bytes();
  return std::string(b.begin(), b.end());
}

std::string port_bytes(std::uint16_t port) {
  std::string p(4, '\0');
  p[0] = static_cast<char>(port >> 8);
  p[1] = static_cast<char>(port & 0xff);
  return p;
}

/// The map and element of one published port.
std::pair<const SetSpec*, Element> port_element(const PublishedPort& p) {
  const bool v4 = p.container_address.is_v4();
  std::string key(4, '\0');
  key[0] = static_cast<char>(protocol_number(p.protocol));
  if (p.host_address) key += addr_bytes(*p.host_address);
  key += port_bytes(p.host_port);
  Element e{key, addr_bytes(p.container_address) + port_bytes(p.container_port), p.owner};
  const SetSpec* set = v4 ? (p.host_address ? &kPm4 : &kPm4Any) : (p.host_address ? &kPm6 : &kPm6Any);
  return {set, std::move(e)};
}

std::string describe(const PublishedPort& p) {
  std::string host = p.host_address ? (p.host_address->is_v6() ? fmt::format("[{}]", p.host_address->to_string())
                                                                 : p.host_address->to_string())
                                    : std::string(p.container_address.is_v4() ? "0.0.0.0" : "[::]");
  return fmt::format("{}:{}/{}", host, p.host_port, protocol_name(p.protocol));
}

Result<void> validate_table_name(std::string_view name) {
  if (!core::is_plain_name(name, 64))
    return make_error(Errc::invalid_argument,
                      fmt::format("firewall table name '{}' must be 1 to 64 letters, digits, '-', '_' or '.'", name));
  return {};
}

bool is_missing(const core::Error& e) { return e.code == std::errc::no_such_file_or_directory; }

class NftFirewall final : public Firewall {
public:
  NftFirewall(std::string table, std::filesystem::path netns, nft::Socket sock)
      : table_(std::move(table)), netns_(std::move(netns)), sock_(std::move(sock)) {}

  ~NftFirewall() override { stop_monitor(); }

  std::string table() const override { return fmt::format("inet {}", table_); }

  void adopt(FirewallState state) override {
    std::lock_guard lock(mutex_);
    networks_.clear();
    for (auto& n : state.networks) networks_[n.name] = n;
    connections_.clear();
    for (auto& [a, b] : state.connections) connections_.insert(ordered(a, b));
    ports_.clear();
    by_owner_.clear();
    for (auto& p : state.ports) remember(p);
    zones_.clear();
    for (auto& z : state.zones) zones_[z.name] = z;
  }

  FirewallState state() const override {
    std::lock_guard lock(mutex_);
    FirewallState s;
    for (const auto& [name, n] : networks_) s.networks.push_back(n);
    for (const auto& c : connections_) s.connections.push_back(c);
    for (const auto& [owner, list] : by_owner_) s.ports.insert(s.ports.end(), list.begin(), list.end());
    for (const auto& [name, z] : zones_) s.zones.push_back(z);
    return s;
  }

  /// Puts `desired` in place of the rules that `owned` (by tag) selects
  /// when the two differ; true when the batch got that change.
  template <class Owned>
  static bool replace_rules(nft::Batch& batch, const std::vector<nft::RuleInfo>& rules, Owned&& owned,
                            const std::vector<nft::RuleSpec>& desired) {
    std::multiset<std::string> have, want;
    for (const auto& info : rules)
      if (owned(info.tag)) have.insert(info.tag);
    for (const auto& spec : desired) want.insert(spec.tag);
    if (have == want) return false;
    for (const auto& info : rules)
      if (owned(info.tag)) batch.delete_rule(info.chain, info.handle);
    for (const auto& spec : desired) batch.add_rule(spec);
    return true;
  }

  Result<void> add_zone(const FirewallZone& z) override {
    const std::string what = fmt::format("firewall '{}': add zone '{}'", table_, z.name);
    if (!core::is_plain_name(z.name, 64))
      return make_error(Errc::invalid_argument, what + ": a zone name is letters, digits, '-', '_' and '.'");
    if (z.subnets.empty()) return make_error(Errc::invalid_argument, what + ": a zone needs at least one subnet");
    std::lock_guard lock(mutex_);
    for (const auto& [name, other] : zones_) {
      if (name == z.name) continue;
      for (const Subnet& a : z.subnets)
        for (const Subnet& b : other.subnets)
          if (a.overlaps(b))
            return make_error(Errc::conflict, fmt::format("{}: subnet {} overlaps {} of zone '{}'", what,
                                                          a.to_string(), b.to_string(), name));
    }
    auto r = with_base([&]() -> Result<void> {
      auto rules = nft::list_rules(sock_, table_);
      if (!rules) return rules.error();
      nft::Batch batch(table_);
      if (!replace_rules(batch, *rules, [&](const std::string& tag) { return is_zone_rule(tag, z.name); },
                         zone_rules(z)))
        return {};
      return batch.commit(sock_);
    });
    if (!r) return std::move(r).error().wrap(what);
    zones_[z.name] = z;
    return {};
  }

  Result<void> remove_zone(std::string_view name) override {
    std::lock_guard lock(mutex_);
    auto r = edit_existing([&](const std::vector<nft::RuleInfo>& rules, nft::Batch& batch) -> Result<void> {
      for (const auto& info : rules)
        if (is_zone_rule(info.tag, name)) batch.delete_rule(info.chain, info.handle);
      return {};
    });
    if (!r) return std::move(r).error().wrap(fmt::format("firewall '{}': remove zone '{}'", table_, name));
    zones_.erase(std::string(name));
    return {};
  }
  Result<void> add_network(const FirewallNetwork& n) override {
    const std::string what = fmt::format("firewall '{}': add network '{}'", table_, n.name);
    if (n.bridge.empty() || n.bridge.size() > 15)
      return make_error(Errc::invalid_argument, fmt::format("{}: bridge name '{}' is not valid", what, n.bridge));
    std::lock_guard lock(mutex_);
    for (const auto& [name, other] : networks_) {
      if (name == n.name) continue;
      if (other.bridge == n.bridge)
        return make_error(Errc::conflict, fmt::format("{}: bridge '{}' belongs to network '{}'", what, n.bridge, name));
      for (const Subnet& a : n.subnets)
        for (const Subnet& b : other.subnets)
          if (a.overlaps(b))
            return make_error(Errc::conflict, fmt::format("{}: subnet {} overlaps {} of network '{}'", what,
                                                          a.to_string(), b.to_string(), name));
    }
    auto r = with_base([&]() -> Result<void> {
      auto rules = nft::list_rules(sock_, table_);
      if (!rules) return rules.error();
      nft::Batch batch(table_);
      replace_rules(batch, *rules, [&](const std::string& tag) { return is_network_rule(tag, n.name); },
                    network_rules(n));
      if (auto old = networks_.find(n.name); old != networks_.end() && old->second.bridge != n.bridge)
        if (auto d = delete_network_elements(batch, old->second); !d) return d;
      std::vector<Element> bridge{{ifname_key(n.bridge), {}, n.name}};
      std::vector<Element> self{{ifname_key(n.bridge) + ifname_key(n.bridge), {}, n.name}};
      batch.add_elements(kBridges, bridge, false, fmt::format("add bridge '{}'", n.bridge));
      batch.add_elements(kPairs, self, false, fmt::format("add bridge '{}'", n.bridge));
      if (n.internal) batch.add_elements(kInternal, bridge, false, fmt::format("mark '{}' internal", n.bridge));
      else if (auto d = delete_present(batch, kInternal, bridge); !d) return d;
      return batch.commit(sock_);
    });
    if (!r) return std::move(r).error().wrap(what);
    networks_[n.name] = n;
    return {};
  }

  Result<void> remove_network(std::string_view name) override {
    std::lock_guard lock(mutex_);
    auto r = edit_existing([&](const std::vector<nft::RuleInfo>& rules, nft::Batch& batch) -> Result<void> {
      for (const auto& info : rules)
        if (is_network_rule(info.tag, name)) batch.delete_rule(info.chain, info.handle);
      if (auto it = networks_.find(std::string(name)); it != networks_.end())
        return delete_network_elements(batch, it->second);
      return {};
    });
    if (!r) return std::move(r).error().wrap(fmt::format("firewall '{}': remove network '{}'", table_, name));
    networks_.erase(std::string(name));
    std::erase_if(connections_, [&](const auto& c) { return c.first == name || c.second == name; });
    return {};
  }

  Result<void> connect(std::string_view a, std::string_view b) override { return set_connected(a, b, true); }
  Result<void> disconnect(std::string_view a, std::string_view b) override { return set_connected(a, b, false); }

  Result<void> add_ports(std::span<const PublishedPort> ports) override {
    std::lock_guard lock(mutex_);
    // Check everything first, so a refused request changes nothing.
    std::vector<const PublishedPort*> fresh;
    for (std::size_t i = 0; i < ports.size(); ++i) {
      const PublishedPort& p = ports[i];
      if (p.host_port == 0 || p.container_port == 0)
        return make_error(Errc::invalid_argument, fmt::format("publish {}: port 0 is not a port", describe(p)));
      if (p.host_address && p.host_address->is_v4() != p.container_address.is_v4())
        return make_error(Errc::invalid_argument,
                          fmt::format("publish {}: host and container addresses are of different IP families",
                                      describe(p)));
      if (auto holder = conflict(p))
        return make_error(Errc::conflict, fmt::format("publish {}: the port is already published by '{}'",
                                                      describe(p), holder->owner));
      for (std::size_t j = 0; j < i; ++j)
        if (collides(ports[j], p))
          return make_error(Errc::conflict, fmt::format("publish {}: the port is asked for twice", describe(p)));
      if (!already_have(p)) fresh.push_back(&p);
    }
    if (fresh.empty()) return {};
    auto r = with_base([&]() -> Result<void> {
      nft::Batch batch(table_);
      add_port_elements(batch, fresh, true);
      auto c = batch.commit(sock_);
      if (!c && c.error().code == std::errc::file_exists)
        return make_error(Errc::conflict, fmt::format("{}: a port is already published in table '{}' by another process",
                                                      c.error().context, table_));
      return c;
    });
    if (!r) return std::move(r).error().wrap(fmt::format("firewall '{}'", table_));
    for (const PublishedPort* p : fresh) remember(*p);
    return {};
  }

  Result<void> remove_ports(std::string_view owner) override {
    std::lock_guard lock(mutex_);
    auto it = by_owner_.find(std::string(owner));
    if (it == by_owner_.end()) return {};
    std::vector<const PublishedPort*> list;
    for (const auto& p : it->second) list.push_back(&p);
    nft::Batch batch(table_);
    std::map<const SetSpec*, std::vector<Element>> by_set;
    for (const PublishedPort* p : list) {
      auto [set, e] = port_element(*p);
      by_set[set].push_back(std::move(e));
    }
    for (const auto& [set, elems] : by_set) batch.delete_elements(*set, elems, fmt::format("withdraw ports of '{}'", owner));
    auto r = batch.commit(sock_);
    if (!r && is_missing(r.error())) {
      // Someone removed some of them already: withdraw the rest one by one.
      for (const auto& [set, elems] : by_set)
        for (const auto& e : elems) {
          nft::Batch one(table_);
          one.delete_elements(*set, std::span(&e, 1), "withdraw port");
          if (auto x = one.commit(sock_); !x && !is_missing(x.error()))
            return std::move(x).error().wrap(fmt::format("firewall '{}'", table_));
        }
    } else if (!r) {
      return std::move(r).error().wrap(fmt::format("firewall '{}'", table_));
    }
    for (const auto& p : it->second) {
      auto& bucket = ports_[{p.protocol, p.host_port}];
      std::erase(bucket, p);
    }
    by_owner_.erase(it);
    return {};
  }

  Result<std::vector<std::string>> verify() override {
    std::lock_guard lock(mutex_);
    auto r = verify_locked();
    if (!r) return std::move(r).error().wrap(fmt::format("verify firewall '{}'", table_));
    return r;
  }

  Result<void> repair() override {
    std::lock_guard lock(mutex_);
    auto r = repair_locked();
    if (!r) return std::move(r).error().wrap(fmt::format("repair firewall '{}'", table_));
    return r;
  }

  Result<void> remove() override {
    std::lock_guard lock(mutex_);
    nft::Batch batch(table_);
    batch.delete_table();
    auto r = batch.commit(sock_);
    if (!r && !is_missing(r.error())) return std::move(r).error().wrap(fmt::format("remove firewall '{}'", table_));
    networks_.clear();
    connections_.clear();
    ports_.clear();
    by_owner_.clear();
    zones_.clear();
    base_ok_ = false;
    return {};
  }

  Result<void> start_monitor(std::function<void(const Result<std::vector<std::string>>&)> on_repair) override {
    if (monitor_.joinable()) return {};
    auto sock = netns_.empty() ? nft::Socket::open_monitor()
                               : core::run_in_netns(netns_, [] { return nft::Socket::open_monitor(); });
    if (!sock) return std::move(sock).error().wrap(fmt::format("monitor firewall '{}'", table_));
    int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) return core::errno_error(errno, "monitor: eventfd");
    stop_fd_.reset(efd);
    monitor_ = std::thread([this, s = std::make_shared<nft::Socket>(std::move(*sock)), cb = std::move(on_repair)] {
      monitor_loop(*s, cb);
    });
    return {};
  }

private:
  using PortKey = std::pair<Protocol, std::uint16_t>;

  static std::pair<std::string, std::string> ordered(std::string_view a, std::string_view b) {
    return a < b ? std::pair{std::string(a), std::string(b)} : std::pair{std::string(b), std::string(a)};
  }

  static bool collides(const PublishedPort& a, const PublishedPort& b) {
    if (a.protocol != b.protocol || a.host_port != b.host_port) return false;
    if (a.container_address.is_v4() != b.container_address.is_v4()) return false;
    return !a.host_address || !b.host_address || *a.host_address == *b.host_address;
  }

  const PublishedPort* conflict(const PublishedPort& p) const {
    auto it = ports_.find({p.protocol, p.host_port});
    if (it == ports_.end()) return nullptr;
    for (const auto& q : it->second)
      if (collides(p, q) && !(q == p)) return &q;
    return nullptr;
  }

  bool already_have(const PublishedPort& p) const {
    auto it = ports_.find({p.protocol, p.host_port});
    return it != ports_.end() && std::find(it->second.begin(), it->second.end(), p) != it->second.end();
  }

  void remember(const PublishedPort& p) {
    ports_[{p.protocol, p.host_port}].push_back(p);
    by_owner_[p.owner].push_back(p);
  }

  void add_port_elements(nft::Batch& batch, const std::vector<const PublishedPort*>& list, bool exclusive) {
    std::map<const SetSpec*, std::vector<Element>> by_set;
    for (const PublishedPort* p : list) {
      auto [set, e] = port_element(*p);
      by_set[set].push_back(std::move(e));
    }
    for (const auto& [set, elems] : by_set)
      batch.add_elements(*set, elems, exclusive,
                         elems.size() == 1 ? fmt::format("publish {}", describe(*list.front()))
                                           : fmt::format("publish {} ports", elems.size()));
  }

  /// When the table exists: builds one batch from the kernel's rules and commits it (if not empty).
  Result<void> edit_existing(const std::function<Result<void>(const std::vector<nft::RuleInfo>&, nft::Batch&)>& fill) {
    auto exists = nft::table_exists(sock_, table_);
    if (!exists) return exists.error();
    if (!*exists) return {};
    auto rules = nft::list_rules(sock_, table_);
    if (!rules) return rules.error();
    nft::Batch batch(table_);
    if (auto f = fill(*rules, batch); !f) return f;
    if (batch.empty()) return {};
    return batch.commit(sock_);
  }

  /// Queues deletion of those of `elements` that the kernel holds.
  Result<void> delete_present(nft::Batch& batch, const SetSpec& set, const std::vector<Element>& elements) {
    auto have = nft::list_elements(sock_, table_, set.name);
    if (!have) return have.error();
    std::vector<Element> gone;
    for (const auto& e : elements)
      if (std::any_of(have->begin(), have->end(), [&](const Element& h) { return h.key == e.key; })) gone.push_back(e);
    if (!gone.empty()) batch.delete_elements(set, gone, fmt::format("remove from set '{}'", set.name));
    return {};
  }

  Result<void> delete_network_elements(nft::Batch& batch, const FirewallNetwork& n) {
    std::vector<Element> bridge{{ifname_key(n.bridge), {}, {}}};
    if (auto d = delete_present(batch, kBridges, bridge); !d) return d;
    if (auto d = delete_present(batch, kInternal, bridge); !d) return d;
    auto pairs = nft::list_elements(sock_, table_, kPairs.name);
    if (!pairs) return pairs.error();
    std::vector<Element> gone;
    const std::string key = ifname_key(n.bridge);
    for (const auto& e : *pairs)
      if (e.key.compare(0, 16, key) == 0 || e.key.compare(16, 16, key) == 0) gone.push_back(Element{e.key, {}, {}});
    if (!gone.empty()) batch.delete_elements(kPairs, gone, fmt::format("disconnect bridge '{}'", n.bridge));
    return {};
  }

  Result<void> set_connected(std::string_view a, std::string_view b, bool connect) {
    const std::string what = fmt::format("firewall '{}': {} networks '{}' and '{}'", table_,
                                         connect ? "connect" : "disconnect", a, b);
    std::lock_guard lock(mutex_);
    auto na = networks_.find(std::string(a)), nb = networks_.find(std::string(b));
    if (na == networks_.end() || nb == networks_.end())
      return make_error(Errc::not_found, fmt::format("{}: unknown network '{}'", what, na == networks_.end() ? a : b));
    auto r = with_base([&]() -> Result<void> {
      const std::string ka = ifname_key(na->second.bridge), kb = ifname_key(nb->second.bridge);
      std::vector<Element> pairs{{ka + kb, {}, {}}, {kb + ka, {}, {}}};
      nft::Batch batch(table_);
      if (connect) batch.add_elements(kPairs, pairs, false, "connect bridges");
      else if (auto d = delete_present(batch, kPairs, pairs); !d) return d;
      return batch.commit(sock_);
    });
    if (!r) return std::move(r).error().wrap(what);
    if (connect) connections_.insert(ordered(a, b));
    else connections_.erase(ordered(a, b));
    return {};
  }

  /// Runs `op` once the table's skeleton is in place; when the table vanished
  /// under us (ENOENT), rebuilds it from the expected state and retries once.
  Result<void> with_base(const std::function<Result<void>()>& op) {
    if (!base_ok_) {
      auto diffs = structure_diffs();
      if (!diffs) return diffs.error();
      if (!diffs->empty()) {
        core::log::debug("firewall skeleton differs; rebuilding", {{"table", table_}, {"first", diffs->front()}});
        if (auto r = repair_locked(); !r) return r;
      }
      base_ok_ = true;
    }
    auto r = op();
    if (r || !is_missing(r.error())) return r;
    core::log::debug("firewall table changed under us; rebuilding", {{"table", table_}});
    if (auto rep = repair_locked(); !rep) return rep;
    return op();
  }

  /// Differences in the fixed part (table, chains, sets, base rules).
  Result<std::vector<std::string>> structure_diffs() {
    std::vector<std::string> diffs;
    auto exists = nft::table_exists(sock_, table_);
    if (!exists) return exists.error();
    if (!*exists) {
      diffs.push_back(fmt::format("table 'inet {}' is missing", table_));
      return diffs;
    }
    auto have_chains = nft::list_chains(sock_, table_);
    if (!have_chains) return have_chains.error();
    for (const auto& c : chains())
      if (std::find(have_chains->begin(), have_chains->end(), c.name) == have_chains->end())
        diffs.push_back(fmt::format("chain '{}' is missing", c.name));
    auto have_sets = nft::list_sets(sock_, table_);
    if (!have_sets) return have_sets.error();
    for (const SetSpec* s : kSets)
      if (std::find(have_sets->begin(), have_sets->end(), s->name) == have_sets->end())
        diffs.push_back(fmt::format("set '{}' is missing", s->name));
    auto rules = nft::list_rules(sock_, table_);
    if (!rules) return rules.error();
    for (const auto& c : chains()) {
      if (c.name == "masq") continue;
      std::vector<std::string> want, have, texts;
      for (const auto& spec : base_rules())
        if (spec.chain == c.name) want.push_back(spec.tag);
      for (const auto& info : *rules)
        if (info.chain == c.name && !is_any_zone_rule(info.tag)) {  // zones are checked with the networks
          have.push_back(info.tag);
          texts.push_back(info.text);
        }
      if (want.size() != have.size()) {
        diffs.push_back(fmt::format("chain '{}' holds {} rules, {} expected", c.name, have.size(), want.size()));
        continue;
      }
      for (std::size_t i = 0; i < want.size(); ++i)
        if (want[i] != have[i]) {
          diffs.push_back(fmt::format("rule {} of chain '{}' is not berth's: {}", i + 1, c.name, texts[i]));
          break;
        }
    }
    return diffs;
  }

  std::vector<std::pair<const SetSpec*, std::vector<Element>>> expected_elements() const {
    std::map<const SetSpec*, std::vector<Element>> m;
    for (const SetSpec* s : kSets) m[s];
    for (const auto& [name, n] : networks_) {
      m[&kBridges].push_back({ifname_key(n.bridge), {}, n.name});
      m[&kPairs].push_back({ifname_key(n.bridge) + ifname_key(n.bridge), {}, n.name});
      if (n.internal) m[&kInternal].push_back({ifname_key(n.bridge), {}, n.name});
    }
    for (const auto& [a, b] : connections_) {
      auto na = networks_.find(a), nb = networks_.find(b);
      if (na == networks_.end() || nb == networks_.end()) continue;
      const std::string ka = ifname_key(na->second.bridge), kb = ifname_key(nb->second.bridge);
      m[&kPairs].push_back({ka + kb, {}, {}});
      m[&kPairs].push_back({kb + ka, {}, {}});
    }
    for (const auto& [owner, list] : by_owner_)
      for (const auto& p : list) {
        auto [set, e] = port_element(p);
        m[set].push_back(std::move(e));
      }
    return {m.begin(), m.end()};
  }

  Result<std::vector<std::string>> verify_locked() {
    auto diffs = structure_diffs();
    if (!diffs) return diffs;
    if (!diffs->empty() && diffs->front().find("table") != std::string::npos) return diffs;
    auto rules = nft::list_rules(sock_, table_);
    if (!rules) return rules.error();
    std::multiset<std::string> want, have;
    for (const auto& [name, n] : networks_)
      for (const auto& spec : network_rules(n)) want.insert(spec.tag);
    for (const auto& info : *rules)
      if (info.chain == "masq") have.insert(info.tag);
    std::multiset<std::string> want_zones, have_zones;
    for (const auto& [name, z] : zones_)
      for (const auto& spec : zone_rules(z)) (spec.chain == "masq" ? want : want_zones).insert(spec.tag);
    for (const auto& info : *rules)
      if (info.chain == "forward" && is_any_zone_rule(info.tag)) have_zones.insert(info.tag);
    if (want != have)
      diffs->push_back(fmt::format("chain 'masq' holds {} rules, {} expected", have.size(), want.size()));
    if (want_zones != have_zones)
      diffs->push_back(fmt::format("chain 'forward' holds {} zone rules, {} expected", have_zones.size(),
                                   want_zones.size()));
    for (const auto& [set, elems] : expected_elements()) {
      auto got = nft::list_elements(sock_, table_, set->name);
      if (!got) {
        if (is_missing(got.error())) continue;  // reported as a missing set
        return got.error();
      }
      std::multiset<std::pair<std::string, std::string>> w, h;
      for (const auto& e : elems) w.insert({e.key, e.data});
      for (const auto& e : *got) h.insert({e.key, e.data});
      if (w != h) {
        auto hex = [](const std::string& b) {
          std::string o;
          for (unsigned char c : b) o += fmt::format("{:02x}", c);
          return o;
        };
        std::string sample;
        for (const auto& e : h)
          if (!w.count(e)) {
            sample = fmt::format("; unexpected {}:{}", hex(e.first), hex(e.second));
            break;
          }
        for (const auto& e : w)
          if (!h.count(e)) {
            sample += fmt::format("; missing {}:{}", hex(e.first), hex(e.second));
            break;
          }
        diffs->push_back(fmt::format("set '{}' holds {} elements, {} expected{}", set->name, h.size(), w.size(), sample));
      }
    }
    return diffs;
  }

  Result<void> repair_locked() {
    // NEWTABLE + DELTABLE + the full rebuild in one transaction: atomic, and
    // correct whether or not the table exists (DEPENDENCIES.md, pitfall 17).
    nft::Batch batch(table_);
    batch.add_table();
    batch.delete_table();
    batch.add_table();
    for (const auto& c : chains()) batch.add_chain(c);
    for (const SetSpec* s : kSets) batch.add_set(*s, set_id(*s));
    for (const auto& spec : base_rules()) batch.add_rule(spec);
    for (const auto& [name, n] : networks_)
      for (const auto& spec : network_rules(n)) batch.add_rule(spec);
    for (const auto& [name, z] : zones_)
      for (const auto& spec : zone_rules(z)) batch.add_rule(spec);
    for (const auto& [set, elems] : expected_elements())
      if (!elems.empty()) batch.add_elements(*set, elems, false, fmt::format("restore set '{}'", set->name));
    if (auto r = batch.commit(sock_); !r) return r;
    base_ok_ = true;
    return {};
  }

  void monitor_loop(nft::Socket& sock, const std::function<void(const Result<std::vector<std::string>>&)>& cb) {
    std::vector<char> buf(1 << 16);
    bool touched = false;
    const auto self = static_cast<std::uint32_t>(::getpid());
    for (;;) {
      pollfd fds[2] = {{sock.fd(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
      // While a foreign change is pending, wait briefly for the rest of it.
      int n = ::poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 || (fds[1].revents & POLLIN)) return;
      ssize_t len = ::recv(sock.fd(), buf.data(), buf.size(), 0);
      if (len < 0) {
        if (errno == ENOBUFS) touched = true;  // events were lost: look anyway
        else if (errno != EINTR && errno != EAGAIN) return;
        else continue;
      }
      bool foreign_commit = false;
      int remaining = static_cast<int>(std::max<ssize_t>(len, 0));
      for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); len > 0 && mnl_nlmsg_ok(nlh, remaining);
           nlh = mnl_nlmsg_next(nlh, &remaining)) {
        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) continue;
        const int type = NFNL_MSG_TYPE(nlh->nlmsg_type);
        const nlattr* first = nullptr;
        std::uint32_t pid = 0;
        // libmnl's mnl_attr_for_each macro does not compile as C++.
        auto* tail = static_cast<char*>(mnl_nlmsg_get_payload_tail(nlh));
        for (auto* attr = static_cast<nlattr*>(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)));
             mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<char*>(attr))); attr = mnl_attr_next(attr)) {
          if (!first) first = attr;
          if (type == NFT_MSG_NEWGEN && mnl_attr_get_type(attr) == NFTA_GEN_PROC_PID) pid = ntohl(mnl_attr_get_u32(attr));
        }
        if (type == NFT_MSG_NEWGEN) {
          if (touched && pid != self) foreign_commit = true;
          else touched = false;
          continue;
        }
        if (first && mnl_attr_get_type(first) == 1 && table_ == mnl_attr_get_str(first)) touched = true;
      }
      if (len < 0) foreign_commit = true;
      if (!foreign_commit) continue;
      touched = false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let a burst of commits settle
      Result<std::vector<std::string>> outcome = std::vector<std::string>{};
      {
        std::lock_guard lock(mutex_);
        auto diffs = verify_locked();
        if (!diffs) outcome = diffs;
        else if (!diffs->empty()) {
          if (auto r = repair_locked(); !r) outcome = std::move(r).error().wrap(fmt::format("repair firewall '{}'", table_));
          else outcome = *diffs;
        }
      }
      if (outcome && !outcome->empty())
        core::log::debug("firewall repaired", {{"table", table_}, {"first", outcome->front()}});
      if (cb) cb(outcome);
    }
  }

  void stop_monitor() {
    if (!monitor_.joinable()) return;
    std::uint64_t one = 1;
    (void)!::write(stop_fd_.get(), &one, sizeof one);
    monitor_.join();
  }

  const std::string table_;
  const std::filesystem::path netns_;
  mutable std::mutex mutex_;
  nft::Socket sock_;
  bool base_ok_ = false;
  std::map<std::string, FirewallNetwork> networks_;
  std::map<std::string, FirewallZone> zones_;
  std::set<std::pair<std::string, std::string>> connections_;
  std::map<PortKey, std::vector<PublishedPort>> ports_;
  std::map<std::string, std::vector<PublishedPort>> by_owner_;
  core::UniqueFd stop_fd_;
  std::thread monitor_;
};

}  // namespace

Result<std::unique_ptr<Firewall>> make_nft_firewall(const NftFirewallOptions& options) {
  if (auto v = validate_table_name(options.table); !v) return v.error();
  auto sock = options.netns.empty() ? nft::Socket::open()
                                    : core::run_in_netns(options.netns, [] { return nft::Socket::open(); });
  if (!sock) return std::move(sock).error().wrap(fmt::format("open firewall '{}'", options.table));
  return std::unique_ptr<Firewall>(std::make_unique<NftFirewall>(options.table, options.netns, std::move(*sock)));
}

}  // namespace berth::net
