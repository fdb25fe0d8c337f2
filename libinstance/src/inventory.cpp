// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/inventory.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace berth::instance {
namespace json = boost::json;

std::string_view firewall_name(FirewallMode mode) { return mode == FirewallMode::Nftables ? "nftables" : "iptables"; }

core::Result<FirewallMode> parse_firewall(std::string_view name) {
  if (name == "nftables") return FirewallMode::Nftables;
  if (name == "iptables") return FirewallMode::Iptables;
  return core::make_error(core::Errc::invalid_argument,
                          fmt::format("firewall '{}' is neither 'nftables' nor 'iptables'", name));
}

core::Result<core::FileLock> Inventory::lock() const { return records_.lock(".lock"); }

core::Result<void> Inventory::save(const InstanceRecord& r) const {
  json::object o{{"systemd", r.options.systemd},
                 {"firewall", firewall_name(r.options.firewall)},
                 {"sysbox", r.options.sysbox}};
  // The options first: an env file without them reads as the defaults.
  BERTH_TRY(records_.put(r.env.prefix + ".json", json::serialize(o) + "\n"), "inventory");
  BERTH_TRY(records_.put(r.env.prefix + ".env", render_env(r.env)), "inventory");
  return {};
}

core::Result<std::optional<InstanceRecord>> Inventory::load(const std::string& prefix) const {
  const auto env_path = records_.path_of(prefix + ".env");
  auto text = records_.get(prefix + ".env");
  if (!text) return std::move(text).error();
  if (!*text) return std::optional<InstanceRecord>{};
  auto env = parse_env(**text);
  if (!env) return std::move(env).error().wrap(env_path.string());
  InstanceRecord r{*env, {}};
  const auto opt_path = records_.path_of(prefix + ".json");
  auto opts = records_.get(prefix + ".json");
  if (!opts) return std::move(opts).error();
  if (*opts) {
    boost::system::error_code ec;
    auto doc = json::parse(**opts, ec);
    const auto* o = ec ? nullptr : doc.if_object();
    if (!o) return core::make_error(core::Errc::corrupt, opt_path.string() + ": not a JSON object");
    if (const auto* v = o->if_contains("systemd"); v && v->is_bool()) r.options.systemd = v->as_bool();
    if (const auto* v = o->if_contains("sysbox"); v && v->is_bool()) r.options.sysbox = v->as_bool();
    if (const auto* v = o->if_contains("firewall"); v && v->is_string()) {
      auto fw = parse_firewall(v->as_string());
      if (!fw) return std::move(fw).error().wrap(opt_path.string());
      r.options.firewall = *fw;
    }
  }
  return std::optional<InstanceRecord>{std::move(r)};
}

core::Result<std::vector<InstanceRecord>> Inventory::list() const {
  std::vector<InstanceRecord> out;
  auto names = records_.list(".env");
  if (!names) return std::move(names).error();
  for (const auto& name : *names) {
    auto r = load(name.substr(0, name.size() - 4));
    if (!r) return std::move(r).error();
    if (*r) out.push_back(std::move(**r));
  }
  return out;
}

core::Result<void> Inventory::remove(const std::string& prefix) const {
  BERTH_TRY(records_.remove(prefix + ".env"), "forget instance " + prefix);
  BERTH_TRY(records_.remove(prefix + ".json"), "forget instance " + prefix);
  return {};
}

}  // namespace berth::instance
