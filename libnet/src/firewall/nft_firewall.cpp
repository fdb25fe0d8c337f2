// SPDX-License-Identifier: Apache-2.0
// The nftables Firewall: one owner's table (`inet <owner>`), changed in one
// small transaction per call and nothing outside it touched. What the table
// holds is built by ruleset.cpp, checked against the kernel by verify.cpp,
// kept (with the rules for what may join it) by expected_state.cpp, and
// watched for other processes' changes by monitor.cpp.
#include "berth/net/firewall/firewall.hpp"

#include "berth/core/log.hpp"
#include "berth/core/names.hpp"
#include "berth/core/netns.hpp"
#include "firewall/expected_state.hpp"
#include "firewall/monitor.hpp"
#include "firewall/nft.hpp"
#include "firewall/ruleset.hpp"
#include "firewall/verify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace berth::net {
namespace {

using core::Errc;
using core::make_error;
using core::Result;
using nft::Element;
using nft::SetSpec;
using ruleset::ifname_key;

Result<void> validate_table_name(std::string_view name) {
  if (!core::is_plain_name(name, 64))
    return make_error(Errc::invalid_argument,
                      fmt::format("firewall table name '{}' must be 1 to 64 letters, digits, '-', '_' or '.'", name));
  return {};
}

/// Puts `desired` in place of the rules that `owned` (by tag) selects when
/// the two differ; true when the batch got that change.
template <class Owned>
bool replace_rules(nft::Batch& batch, const std::vector<nft::RuleInfo>& rules, Owned&& owned,
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

std::map<const SetSpec*, std::vector<Element>> port_elements(const std::vector<const PublishedPort*>& list) {
  std::map<const SetSpec*, std::vector<Element>> by_set;
  for (const PublishedPort* p : list) {
    auto [set, e] = ruleset::port_element(*p);
    by_set[set].push_back(std::move(e));
  }
  return by_set;
}

class NftFirewall final : public Firewall {
public:
  NftFirewall(std::string table, std::filesystem::path netns, nft::Socket sock)
      : table_(std::move(table)), netns_(std::move(netns)), sock_(std::move(sock)) {}

  ~NftFirewall() override { monitor_.reset(); }

  std::string table() const override { return fmt::format("inet {}", table_); }

  void adopt(FirewallState state) override {
    std::lock_guard lock(mutex_);
    expected_.adopt(state);
  }

  FirewallState state() const override {
    std::lock_guard lock(mutex_);
    return expected_.snapshot();
  }

  Result<void> add_zone(const FirewallZone& z) override {
    const std::string what = fmt::format("firewall '{}': add zone '{}'", table_, z.name);
    std::lock_guard lock(mutex_);
    if (auto ok = expected_.check_zone(z); !ok) return std::move(ok).error().wrap(what);
    auto r = with_base([&]() -> Result<void> {
      auto rules = nft::list_rules(sock_, table_);
      if (!rules) return rules.error();
      nft::Batch batch(table_);
      if (!replace_rules(batch, *rules, [&](const std::string& tag) { return ruleset::is_zone_rule(tag, z.name); },
                         ruleset::zone_rules(z)))
        return {};
      return batch.commit(sock_);
    });
    if (!r) return std::move(r).error().wrap(what);
    expected_.set_zone(z);
    return {};
  }

  Result<void> remove_zone(std::string_view name) override {
    std::lock_guard lock(mutex_);
    auto r = edit_existing([&](const std::vector<nft::RuleInfo>& rules, nft::Batch& batch) -> Result<void> {
      for (const auto& info : rules)
        if (ruleset::is_zone_rule(info.tag, name)) batch.delete_rule(info.chain, info.handle);
      return {};
    });
    if (!r) return std::move(r).error().wrap(fmt::format("firewall '{}': remove zone '{}'", table_, name));
    expected_.erase_zone(name);
    return {};
  }

  Result<void> add_network(const FirewallNetwork& n) override {
    const std::string what = fmt::format("firewall '{}': add network '{}'", table_, n.name);
    std::lock_guard lock(mutex_);
    if (auto ok = expected_.check_network(n); !ok) return std::move(ok).error().wrap(what);
    auto r = with_base([&]() -> Result<void> {
      auto rules = nft::list_rules(sock_, table_);
      if (!rules) return rules.error();
      nft::Batch batch(table_);
      replace_rules(batch, *rules, [&](const std::string& tag) { return ruleset::is_network_rule(tag, n.name); },
                    ruleset::network_rules(n));
      if (const FirewallNetwork* old = expected_.network(n.name); old && old->bridge != n.bridge)
        if (auto d = delete_network_elements(batch, *old); !d) return d;
      std::vector<Element> bridge{{ifname_key(n.bridge), {}, n.name}};
      std::vector<Element> self{{ifname_key(n.bridge) + ifname_key(n.bridge), {}, n.name}};
      batch.add_elements(ruleset::kBridges, bridge, false, fmt::format("add bridge '{}'", n.bridge));
      batch.add_elements(ruleset::kPairs, self, false, fmt::format("add bridge '{}'", n.bridge));
      if (n.internal) batch.add_elements(ruleset::kInternal, bridge, false, fmt::format("mark '{}' internal", n.bridge));
      else if (auto d = delete_present(batch, ruleset::kInternal, bridge); !d) return d;
      return batch.commit(sock_);
    });
    if (!r) return std::move(r).error().wrap(what);
    expected_.set_network(n);
    return {};
  }

  Result<void> remove_network(std::string_view name) override {
    std::lock_guard lock(mutex_);
    auto r = edit_existing([&](const std::vector<nft::RuleInfo>& rules, nft::Batch& batch) -> Result<void> {
      for (const auto& info : rules)
        if (ruleset::is_network_rule(info.tag, name)) batch.delete_rule(info.chain, info.handle);
      if (const FirewallNetwork* n = expected_.network(name)) return delete_network_elements(batch, *n);
      return {};
    });
    if (!r) return std::move(r).error().wrap(fmt::format("firewall '{}': remove network '{}'", table_, name));
    expected_.erase_network(name);
    return {};
  }

  Result<void> connect(std::string_view a, std::string_view b) override { return set_connected(a, b, true); }
  Result<void> disconnect(std::string_view a, std::string_view b) override { return set_connected(a, b, false); }

  Result<void> add_ports(std::span<const PublishedPort> ports) override {
    std::lock_guard lock(mutex_);
    // Everything is checked first, so a refused request changes nothing.
    auto fresh = expected_.check_ports(ports);
    if (!fresh) return fresh.error();
    if (fresh->empty()) return {};
    auto r = with_base([&]() -> Result<void> {
      nft::Batch batch(table_);
      const auto by_set = port_elements(*fresh);
      for (const auto& [set, elems] : by_set)
        batch.add_elements(*set, elems, true,
                           elems.size() == 1 ? fmt::format("publish {}", describe(*fresh->front()))
                                             : fmt::format("publish {} ports", elems.size()));
      auto c = batch.commit(sock_);
      if (!c && c.error().code == std::errc::file_exists)
        return make_error(Errc::conflict, fmt::format("{}: a port is already published in table '{}' by another process",
                                                      c.error().context, table_));
      return c;
    });
    if (!r) return std::move(r).error().wrap(fmt::format("firewall '{}'", table_));
    for (const PublishedPort* p : *fresh) expected_.add_port(*p);
    return {};
  }

  Result<void> remove_ports(std::string_view owner) override {
    std::lock_guard lock(mutex_);
    auto it = expected_.ports_by_owner().find(std::string(owner));
    if (it == expected_.ports_by_owner().end()) return {};
    std::vector<const PublishedPort*> list;
    for (const auto& p : it->second) list.push_back(&p);
    const auto by_set = port_elements(list);
    nft::Batch batch(table_);
    for (const auto& [set, elems] : by_set)
      batch.delete_elements(*set, elems, fmt::format("withdraw ports of '{}'", owner));
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
    (void)expected_.erase_owner(owner);
    return {};
  }

  Result<std::vector<std::string>> verify() override {
    std::lock_guard lock(mutex_);
    auto r = table_diffs(sock_, table_, expected_);
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
    expected_.clear();
    base_ok_ = false;
    return {};
  }

  Result<void> start_monitor(std::function<void(const Result<std::vector<std::string>>&)> on_repair) override {
    if (monitor_) return {};
    auto sock = netns_.empty() ? nft::Socket::open_monitor()
                               : core::run_in_netns(netns_, [] { return nft::Socket::open_monitor(); });
    if (!sock) return std::move(sock).error().wrap(fmt::format("monitor firewall '{}'", table_));
    auto m = TableMonitor::start(std::move(*sock), table_,
                                 [this, cb = std::move(on_repair)] { verify_and_repair(cb); });
    if (!m) return std::move(m).error().wrap(fmt::format("monitor firewall '{}'", table_));
    monitor_ = std::move(*m);
    return {};
  }

private:
  /// After another process changed the table: put back what differs.
  void verify_and_repair(const std::function<void(const Result<std::vector<std::string>>&)>& cb) {
    Result<std::vector<std::string>> outcome = std::vector<std::string>{};
    {
      std::lock_guard lock(mutex_);
      auto diffs = table_diffs(sock_, table_, expected_);
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
    if (auto d = delete_present(batch, ruleset::kBridges, bridge); !d) return d;
    if (auto d = delete_present(batch, ruleset::kInternal, bridge); !d) return d;
    auto pairs = nft::list_elements(sock_, table_, ruleset::kPairs.name);
    if (!pairs) return pairs.error();
    std::vector<Element> gone;
    const std::string key = ifname_key(n.bridge);
    for (const auto& e : *pairs)
      if (e.key.compare(0, 16, key) == 0 || e.key.compare(16, 16, key) == 0) gone.push_back(Element{e.key, {}, {}});
    if (!gone.empty()) batch.delete_elements(ruleset::kPairs, gone, fmt::format("disconnect bridge '{}'", n.bridge));
    return {};
  }

  Result<void> set_connected(std::string_view a, std::string_view b, bool connect) {
    const std::string what = fmt::format("firewall '{}': {} networks '{}' and '{}'", table_,
                                         connect ? "connect" : "disconnect", a, b);
    std::lock_guard lock(mutex_);
    const FirewallNetwork* na = expected_.network(a);
    const FirewallNetwork* nb = expected_.network(b);
    if (!na || !nb) return make_error(Errc::not_found, fmt::format("{}: unknown network '{}'", what, na ? b : a));
    auto r = with_base([&]() -> Result<void> {
      const std::string ka = ifname_key(na->bridge), kb = ifname_key(nb->bridge);
      std::vector<Element> pairs{{ka + kb, {}, {}}, {kb + ka, {}, {}}};
      nft::Batch batch(table_);
      if (connect) batch.add_elements(ruleset::kPairs, pairs, false, "connect bridges");
      else if (auto d = delete_present(batch, ruleset::kPairs, pairs); !d) return d;
      return batch.commit(sock_);
    });
    if (!r) return std::move(r).error().wrap(what);
    expected_.set_connected(a, b, connect);
    return {};
  }

  /// Runs `op` once the table's skeleton is in place; when the table vanished
  /// under us (ENOENT), rebuilds it from the expected state and retries once.
  Result<void> with_base(const std::function<Result<void>()>& op) {
    if (!base_ok_) {
      auto diffs = structure_diffs(sock_, table_);
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

  Result<void> repair_locked() {
    nft::Batch batch(table_);
    ruleset::rebuild(batch, expected_);
    if (auto r = batch.commit(sock_); !r) return r;
    base_ok_ = true;
    return {};
  }

  const std::string table_;
  const std::filesystem::path netns_;
  mutable std::mutex mutex_;  // guards everything below; the monitor's thread takes it too
  nft::Socket sock_;
  bool base_ok_ = false;
  ExpectedState expected_;
  std::unique_ptr<TableMonitor> monitor_;  // last: stopped before the rest goes
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
