// SPDX-License-Identifier: Apache-2.0
// berth's nftables ruleset, built without a kernel. One table per owner (`inet <owner>`):
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
#include "firewall/ruleset.hpp"

#include "fnv1a.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/rtnetlink.h>

namespace berth::net::ruleset {

using nft::Element;
using nft::RuleSpec;
using nft::SetSpec;

namespace {
// nftables data type ids (nftables' datatype.h); a concatenation packs them 6 bits apart.
constexpr std::uint32_t kTypeIpAddr = 7, kTypeIp6Addr = 8, kTypeInetProto = 12, kTypeInetService = 13,
                        kTypeIfname = 41;
constexpr std::uint32_t concat(std::uint32_t a, std::uint32_t b) { return (a << 6) | b; }

}  // namespace

const SetSpec kBridges{"bridges", kTypeIfname, 16, 0, 0, 0, true};
const SetSpec kInternal{"internal", kTypeIfname, 16, 0, 0, 0, true};
const SetSpec kPairs{"pairs", concat(kTypeIfname, kTypeIfname), 32};
const SetSpec kPm4{"pm4", concat(concat(kTypeInetProto, kTypeIpAddr), kTypeInetService), 12,
                   concat(kTypeIpAddr, kTypeInetService), 8};
const SetSpec kPm4Any{"pm4any", concat(kTypeInetProto, kTypeInetService), 8, concat(kTypeIpAddr, kTypeInetService), 8};
const SetSpec kPm6{"pm6", concat(concat(kTypeInetProto, kTypeIp6Addr), kTypeInetService), 24,
                   concat(kTypeIp6Addr, kTypeInetService), 20};
const SetSpec kPm6Any{"pm6any", concat(kTypeInetProto, kTypeInetService), 8, concat(kTypeIp6Addr, kTypeInetService),
                      20};
namespace {
const SetSpec* const kSets[] = {&kBridges, &kInternal, &kPairs, &kPm4, &kPm4Any, &kPm6, &kPm6Any};
}  // namespace

std::span<const SetSpec* const> sets() { return kSets; }


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

namespace {

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

}  // namespace

std::string ifname_key(std::string_view name) {
  std::string k(16, '\0');
  std::memcpy(k.data(), name.data(), std::min<std::size_t>(name.size(), 15));
  return k;
}

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

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

std::vector<std::pair<const SetSpec*, std::vector<Element>>> elements(const ExpectedState& state) {
  std::map<const SetSpec*, std::vector<Element>> m;
  for (const SetSpec* s : kSets) m[s];
  for (const auto& [name, n] : state.networks()) {
    m[&kBridges].push_back({ifname_key(n.bridge), {}, n.name});
    m[&kPairs].push_back({ifname_key(n.bridge) + ifname_key(n.bridge), {}, n.name});
    if (n.internal) m[&kInternal].push_back({ifname_key(n.bridge), {}, n.name});
  }
  for (const auto& [a, b] : state.connections()) {
    const FirewallNetwork* na = state.network(a);
    const FirewallNetwork* nb = state.network(b);
    if (!na || !nb) continue;
    const std::string ka = ifname_key(na->bridge), kb = ifname_key(nb->bridge);
    m[&kPairs].push_back({ka + kb, {}, {}});
    m[&kPairs].push_back({kb + ka, {}, {}});
  }
  for (const auto& [owner, list] : state.ports_by_owner())
    for (const auto& p : list) {
      auto [set, e] = port_element(p);
      m[set].push_back(std::move(e));
    }
  return {m.begin(), m.end()};
}

void rebuild(nft::Batch& batch, const ExpectedState& state) {
  // NEWTABLE + DELTABLE + the full rebuild in one transaction: atomic, and
  // correct whether or not the table exists (DEPENDENCIES.md, pitfall 17).
  batch.add_table();
  batch.delete_table();
  batch.add_table();
  for (const auto& c : chains()) batch.add_chain(c);
  for (const SetSpec* s : kSets) batch.add_set(*s, set_id(*s));
  for (const auto& spec : base_rules()) batch.add_rule(spec);
  for (const auto& [name, n] : state.networks())
    for (const auto& spec : network_rules(n)) batch.add_rule(spec);
  for (const auto& [name, z] : state.zones())
    for (const auto& spec : zone_rules(z)) batch.add_rule(spec);
  for (const auto& [set, elems] : elements(state))
    if (!elems.empty()) batch.add_elements(*set, elems, false, fmt::format("restore set '{}'", set->name));
}

}  // namespace berth::net::ruleset
