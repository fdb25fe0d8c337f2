// SPDX-License-Identifier: Apache-2.0
// Rules are recognised by their comment ("<tag> <hash>"), not by their
// expressions: the kernel reports registers and defaults in its own normal
// form, and a rule someone rewrote no longer carries berth's hash.
#include "firewall/verify.hpp"

#include "firewall/ruleset.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace berth::net {

using core::Result;
using nft::SetSpec;

Result<std::vector<std::string>> structure_diffs(nft::Socket& sock, const std::string& table) {
  std::vector<std::string> diffs;
  auto exists = nft::table_exists(sock, table);
  if (!exists) return exists.error();
  if (!*exists) {
    diffs.push_back(fmt::format("table 'inet {}' is missing", table));
    return diffs;
  }
  auto have_chains = nft::list_chains(sock, table);
  if (!have_chains) return have_chains.error();
  for (const auto& c : ruleset::chains())
    if (std::find(have_chains->begin(), have_chains->end(), c.name) == have_chains->end())
      diffs.push_back(fmt::format("chain '{}' is missing", c.name));
  auto have_sets = nft::list_sets(sock, table);
  if (!have_sets) return have_sets.error();
  for (const SetSpec* s : ruleset::sets())
    if (std::find(have_sets->begin(), have_sets->end(), s->name) == have_sets->end())
      diffs.push_back(fmt::format("set '{}' is missing", s->name));
  auto rules = nft::list_rules(sock, table);
  if (!rules) return rules.error();
  for (const auto& c : ruleset::chains()) {
    if (c.name == "masq") continue;
    std::vector<std::string> want, have, texts;
    for (const auto& spec : ruleset::base_rules())
      if (spec.chain == c.name) want.push_back(spec.tag);
    for (const auto& info : *rules)
      if (info.chain == c.name && !ruleset::is_any_zone_rule(info.tag)) {  // zones are checked with the networks
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

namespace {

std::string hex(const std::string& bytes) {
  std::string o;
  for (unsigned char c : bytes) o += fmt::format("{:02x}", c);
  return o;
}

}  // namespace

Result<std::vector<std::string>> table_diffs(nft::Socket& sock, const std::string& table,
                                             const ExpectedState& expected) {
  auto diffs = structure_diffs(sock, table);
  if (!diffs) return diffs;
  if (!diffs->empty() && diffs->front().find("table") != std::string::npos) return diffs;
  auto rules = nft::list_rules(sock, table);
  if (!rules) return rules.error();
  std::multiset<std::string> want, have;
  for (const auto& [name, n] : expected.networks())
    for (const auto& spec : ruleset::network_rules(n)) want.insert(spec.tag);
  for (const auto& info : *rules)
    if (info.chain == "masq") have.insert(info.tag);
  std::multiset<std::string> want_zones, have_zones;
  for (const auto& [name, z] : expected.zones())
    for (const auto& spec : ruleset::zone_rules(z)) (spec.chain == "masq" ? want : want_zones).insert(spec.tag);
  for (const auto& info : *rules)
    if (info.chain == "forward" && ruleset::is_any_zone_rule(info.tag)) have_zones.insert(info.tag);
  if (want != have)
    diffs->push_back(fmt::format("chain 'masq' holds {} rules, {} expected", have.size(), want.size()));
  if (want_zones != have_zones)
    diffs->push_back(
        fmt::format("chain 'forward' holds {} zone rules, {} expected", have_zones.size(), want_zones.size()));
  for (const auto& [set, elems] : ruleset::elements(expected)) {
    auto got = nft::list_elements(sock, table, set->name);
    if (!got) {
      if (is_missing(got.error())) continue;  // reported as a missing set
      return got.error();
    }
    std::multiset<std::pair<std::string, std::string>> w, h;
    for (const auto& e : elems) w.insert({e.key, e.data});
    for (const auto& e : *got) h.insert({e.key, e.data});
    if (w == h) continue;
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
  return diffs;
}

}  // namespace berth::net
