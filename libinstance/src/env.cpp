// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/env.hpp"

#include <fmt/format.h>

#include <charconv>
#include <map>

namespace berth::instance {
namespace {

using core::Errc;
using core::make_error;

constexpr std::string_view kKeys[] = {"DOCKYARD_ROOT",        "DOCKYARD_DOCKER_PREFIX", "DOCKYARD_BRIDGE_CIDR",
                                      "DOCKYARD_FIXED_CIDR", "DOCKYARD_POOL_BASE",     "DOCKYARD_POOL_SIZE"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

core::Result<void> validate_prefix(std::string_view prefix) {
  bool ok = prefix.size() >= 2 && prefix.size() <= 8 && prefix.back() == '_' && prefix.front() >= 'a' &&
            prefix.front() <= 'z';
  for (char c : prefix.substr(0, prefix.empty() ? 0 : prefix.size() - 1))
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  if (!ok)
    return make_error(Errc::invalid_argument,
                      fmt::format("prefix '{}' must be 2 to 8 characters: a lower-case letter, letters or digits, "
                                  "and a final '_' (like 'dy1_')",
                                  prefix));
  return {};
}

core::Result<void> validate_root(std::string_view root) {
  auto bad = [&](std::string_view why) {
    return make_error(Errc::invalid_argument, fmt::format("root '{}' {}", root, why));
  };
  if (root.empty() || root.front() != '/') return bad("must be an absolute path");
  if (root == "/") return bad("must not be '/'");
  for (char c : root)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' || c == '_' ||
          c == '-' || c == '.'))
      return bad("may hold only letters, digits, '/', '_', '-' and '.'");
  std::filesystem::path p(root);
  for (const auto& part : p)
    if (part == ".." || part == ".") return bad("must not contain '.' or '..' components");
  if (root.back() == '/' || root.find("//") != std::string_view::npos) return bad("must be normalized");
  return {};
}

core::Result<void> validate(const InstanceEnv& e) {
  if (auto r = validate_prefix(e.prefix); !r) return r;
  if (auto r = validate_root(e.root.string()); !r) return r;
  if (!e.bridge_cidr.address.is_v4() || !e.fixed_cidr.is_v4() || !e.pool_base.is_v4())
    return make_error(Errc::invalid_argument, "bridge CIDR, fixed CIDR and pool base must be IPv4");
  const net::Subnet bridge = e.bridge_cidr.subnet();
  if (e.bridge_cidr.address == bridge.network() || e.bridge_cidr.address == bridge.last())
    return make_error(Errc::invalid_argument, fmt::format("bridge address {} is the network or broadcast address of {}",
                                                          e.bridge_cidr.address.to_string(), bridge.to_string()));
  if (!bridge.contains(e.fixed_cidr))
    return make_error(Errc::invalid_argument, fmt::format("fixed CIDR {} is not inside the bridge's subnet {}",
                                                          e.fixed_cidr.to_string(), bridge.to_string()));
  if (e.pool_size < e.pool_base.prefix_length() || e.pool_size > 30)
    return make_error(Errc::invalid_argument, fmt::format("pool size /{} must be between /{} and /30", e.pool_size,
                                                          e.pool_base.prefix_length()));
  if (e.pool_base.overlaps(bridge))
    return make_error(Errc::invalid_argument, fmt::format("pool base {} overlaps the bridge's subnet {}",
                                                          e.pool_base.to_string(), bridge.to_string()));
  return {};
}

core::Result<InstanceEnv> parse_env(std::string_view text) {
  std::map<std::string, std::string, std::less<>> values;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    auto where = [&](std::string_view why) {
      return make_error(Errc::invalid_argument, fmt::format("env line {}: {}", line_no, why));
    };
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return where("expected KEY=VALUE");
    std::string_view key = trim(line.substr(0, eq));
    std::string_view value = trim(line.substr(eq + 1));
    if (key.starts_with("export ")) key = trim(key.substr(7));
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
      return where(fmt::format("unknown key '{}'", key));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    for (char c : value)
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\'' || c == '`' || c == '$' || c == ';' ||
          c == '\\' || c == ' ' || c == '|' || c == '&' || c == '<' || c == '>')
        return where(fmt::format("{} holds a character that is not allowed", key));
    if (!values.emplace(std::string(key), std::string(value)).second)
      return where(fmt::format("{} is set twice", key));
  }
  for (auto key : kKeys)
    if (!values.count(key)) return make_error(Errc::invalid_argument, fmt::format("env: {} is missing", key));
  InstanceEnv e;
  e.root = values["DOCKYARD_ROOT"];
  e.prefix = values["DOCKYARD_DOCKER_PREFIX"];
  if (auto r = validate_prefix(e.prefix); !r) return std::move(r).error().wrap("DOCKYARD_DOCKER_PREFIX");
  if (auto r = validate_root(e.root.string()); !r) return std::move(r).error().wrap("DOCKYARD_ROOT");
  auto bridge = net::InterfaceAddress::parse(values["DOCKYARD_BRIDGE_CIDR"]);
  if (!bridge) return std::move(bridge).error().wrap("DOCKYARD_BRIDGE_CIDR");
  e.bridge_cidr = *bridge;
  auto fixed = net::Subnet::parse(values["DOCKYARD_FIXED_CIDR"]);
  if (!fixed) return std::move(fixed).error().wrap("DOCKYARD_FIXED_CIDR");
  e.fixed_cidr = *fixed;
  auto pool = net::Subnet::parse(values["DOCKYARD_POOL_BASE"]);
  if (!pool) return std::move(pool).error().wrap("DOCKYARD_POOL_BASE");
  e.pool_base = *pool;
  const std::string& size = values["DOCKYARD_POOL_SIZE"];
  unsigned n = 0;
  auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), n);
  if (size.empty() || ec != std::errc{} || end != size.data() + size.size())
    return make_error(Errc::invalid_argument, fmt::format("DOCKYARD_POOL_SIZE: '{}' is not a number", size));
  e.pool_size = n;
  if (auto r = validate(e); !r) return std::move(r).error().wrap("env");
  return e;
}

std::string render_env(const InstanceEnv& e) {
  return fmt::format(
      "# dockyard instance {0}\n"
      "DOCKYARD_ROOT={1}\nDOCKYARD_DOCKER_PREFIX={0}\nDOCKYARD_BRIDGE_CIDR={2}\nDOCKYARD_FIXED_CIDR={3}\n"
      "DOCKYARD_POOL_BASE={4}\nDOCKYARD_POOL_SIZE={5}\n",
      e.prefix, e.root.string(), e.bridge_cidr.to_string(), e.fixed_cidr.to_string(), e.pool_base.to_string(),
      e.pool_size);
}

}  // namespace berth::instance
