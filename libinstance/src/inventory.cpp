// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/inventory.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace berth::instance {
namespace json = boost::json;

std::string_view firewall_name(FirewallMode mode) { return mode == FirewallMode::Nftables ? "nftables" : "iptables"; }

core::Result<FirewallMode> parse_firewall(std::string_view name) {
  if (name == "nftables") return FirewallMode::Nftables;
  if (name == "iptables") return FirewallMode::Iptables;
  return core::make_error(core::Errc::invalid_argument,
                          fmt::format("firewall '{}' is neither 'nftables' nor 'iptables'", name));
}

core::Result<core::FileLock> Inventory::lock() const {
  BERTH_TRY(core::make_directories(dir_, 0755), "inventory");
  return core::FileLock::acquire(dir_ / ".lock");
}

core::Result<void> Inventory::save(const InstanceRecord& r) const {
  BERTH_TRY(core::make_directories(dir_, 0755), "inventory");
  json::object o{{"systemd", r.options.systemd},
                 {"firewall", firewall_name(r.options.firewall)},
                 {"sysbox", r.options.sysbox}};
  // The options first: an env file without them reads as the defaults.
  BERTH_TRY(core::write_file_atomic(dir_ / (r.env.prefix + ".json"), json::serialize(o) + "\n"), "inventory");
  BERTH_TRY(core::write_file_atomic(dir_ / (r.env.prefix + ".env"), render_env(r.env)), "inventory");
  return {};
}

core::Result<std::optional<InstanceRecord>> Inventory::load(const std::string& prefix) const {
  const auto env_path = dir_ / (prefix + ".env");
  auto text = core::read_file(env_path);
  if (!text) {
    if (text.error().code == std::errc::no_such_file_or_directory) return std::optional<InstanceRecord>{};
    return std::move(text).error();
  }
  auto env = parse_env(*text);
  if (!env) return std::move(env).error().wrap(env_path.string());
  InstanceRecord r{*env, {}};
  const auto opt_path = dir_ / (prefix + ".json");
  if (auto opts = core::read_file(opt_path)) {
    boost::system::error_code ec;
    auto doc = json::parse(*opts, ec);
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
  std::error_code ec;
  if (!std::filesystem::is_directory(dir_, ec)) return out;
  std::vector<std::string> prefixes;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec))
    if (entry.path().extension() == ".env") prefixes.push_back(entry.path().stem().string());
  if (ec) return core::make_error(ec, "list " + dir_.string());
  std::sort(prefixes.begin(), prefixes.end());
  for (const auto& p : prefixes) {
    auto r = load(p);
    if (!r) return std::move(r).error();
    if (*r) out.push_back(std::move(**r));
  }
  return out;
}

core::Result<void> Inventory::remove(const std::string& prefix) const {
  std::error_code ec;
  std::filesystem::remove(dir_ / (prefix + ".env"), ec);
  if (ec) return core::make_error(ec, "forget instance " + prefix);
  std::filesystem::remove(dir_ / (prefix + ".json"), ec);
  if (ec) return core::make_error(ec, "forget instance " + prefix);
  return {};
}

}  // namespace berth::instance
