// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/gen_env.hpp"

#include "berth/core/fs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace berth::instance {
namespace {

using core::Errc;
using core::make_error;
using net::Subnet;

core::Error collides(std::string_view what, const Subnet& s, std::string_view with) {
  return make_error(Errc::conflict, fmt::format("{} {} collides with {}", what, s.to_string(), with));
}

/// The first thing `s` overlaps, described, or "".
std::string overlap(const Subnet& s, const HostView& host, bool allow_docker_pools, std::string_view self_prefix) {
  for (const auto& n : host.networks)
    if (n.overlaps(s)) return fmt::format("the host's network {}", n.to_string());
  if (!allow_docker_pools)
    for (const auto& p : docker_default_pools())
      if (p.overlaps(s)) return fmt::format("Docker's default address pool {}", p.to_string());
  for (const auto& i : host.instances) {
    if (i.prefix == self_prefix) continue;
    for (const auto& [label, other] : {std::pair{"bridge", i.bridge_cidr.subnet()}, {"pool", i.pool_base}})
      if (other.overlaps(s)) return fmt::format("instance '{}' ({} {})", i.prefix, label, other.to_string());
  }
  return {};
}

bool prefix_taken(const std::string& prefix, const HostView& host) {
  InstanceEnv probe;
  probe.prefix = prefix;
  auto in = [](const auto& list, const std::string& v) { return std::find(list.begin(), list.end(), v) != list.end(); };
  return in(host.interfaces, probe.bridge()) || in(host.units, probe.unit()) || in(host.units, probe.containerd_unit()) ||
         (host.exists && host.exists(probe.exec_root())) ||
         std::any_of(host.instances.begin(), host.instances.end(), [&](const auto& i) { return i.prefix == prefix; });
}

}  // namespace

const std::vector<Subnet>& docker_default_pools() {
  static const std::vector<Subnet> pools = [] {
    std::vector<Subnet> v;
    for (int second = 17; second <= 31; ++second) v.push_back(*Subnet::parse(fmt::format("172.{}.0.0/16", second)));
    v.push_back(*Subnet::parse("192.168.0.0/16"));
    return v;
  }();
  return pools;
}

core::Result<void> check_collisions(const InstanceEnv& env, const HostView& host, bool allow_docker_pools) {
  if (auto why = overlap(env.bridge_cidr.subnet(), host, allow_docker_pools, env.prefix); !why.empty())
    return collides("DOCKYARD_BRIDGE_CIDR", env.bridge_cidr.subnet(), why);
  if (auto why = overlap(env.pool_base, host, allow_docker_pools, env.prefix); !why.empty())
    return collides("DOCKYARD_POOL_BASE", env.pool_base, why);
  if (prefix_taken(env.prefix, host))
    return make_error(Errc::conflict, fmt::format("DOCKYARD_DOCKER_PREFIX '{}' is in use (bridge {}, unit {} or {})",
                                                  env.prefix, env.bridge(), env.unit(), env.exec_root().string()));
  for (const auto& i : host.instances)
    if (i.root == env.root)
      return make_error(Errc::conflict, fmt::format("DOCKYARD_ROOT {} belongs to instance '{}'", env.root.string(),
                                                    i.prefix));
  return {};
}

core::Result<InstanceEnv> generate_env(const HostView& host, const GenEnvRequest& req, std::mt19937_64& rng) {
  InstanceEnv e;
  // Prefix: forced, or the lowest free dyN_.
  if (req.prefix) {
    if (auto r = validate_prefix(*req.prefix); !r) return std::move(r).error().wrap("DOCKYARD_DOCKER_PREFIX");
    e.prefix = *req.prefix;
  } else {
    for (int n = 1; n < 1000 && e.prefix.empty(); ++n) {
      std::string p = fmt::format("dy{}_", n);
      if (req.nocheck || !prefix_taken(p, host)) e.prefix = p;
    }
    if (e.prefix.empty()) return make_error(Errc::exhausted, "no free dockyard prefix (dy1_ .. dy999_)");
  }
  e.root = req.root ? *req.root : "/" + e.prefix.substr(0, e.prefix.size() - 1);
  if (auto r = validate_root(e.root.string()); !r) return std::move(r).error().wrap("DOCKYARD_ROOT");
  if (host.exists && (host.exists(e.root / "docker-runtime" / "bin") ||
                      host.exists(e.root / "docker-runtime" / "etc" / "dockyard.env")))
    return make_error(Errc::already_exists, fmt::format("DOCKYARD_ROOT {} already holds a dockyard instance",
                                                        e.root.string()));

  // Pool size first: it is needed to validate a forced pool base.
  e.pool_size = 24;
  if (req.pool_size) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(req.pool_size->data(), req.pool_size->data() + req.pool_size->size(), n);
    if (req.pool_size->empty() || ec != std::errc{} || end != req.pool_size->data() + req.pool_size->size())
      return make_error(Errc::invalid_argument, fmt::format("DOCKYARD_POOL_SIZE '{}' is not a number", *req.pool_size));
    e.pool_size = n;
  }

  auto self = [&](const Subnet& s) { return overlap(s, host, req.allow_docker_pools, e.prefix); };
  // Bridge /24: forced, or a random free one in 10.0.0.0/8.
  if (req.bridge_cidr) {
    auto b = net::InterfaceAddress::parse(*req.bridge_cidr);
    if (!b) return std::move(b).error().wrap("DOCKYARD_BRIDGE_CIDR");
    e.bridge_cidr = *b;
    if (!req.nocheck)
      if (auto why = self(b->subnet()); !why.empty()) return collides("DOCKYARD_BRIDGE_CIDR", b->subnet(), why);
  } else {
    std::uniform_int_distribution<unsigned> pick(0, 65535);
    bool found = false;
    for (int attempt = 0; attempt < 4096 && !found; ++attempt) {
      unsigned n = pick(rng);
      auto s = *Subnet::parse(fmt::format("10.{}.{}.0/24", n >> 8, n & 0xff));
      if (!req.nocheck && !self(s).empty()) continue;
      e.bridge_cidr = {*s.nth(1), 24};
      found = true;
    }
    if (!found) return make_error(Errc::exhausted, "no free /24 left in 10.0.0.0/8 for the bridge");
  }
  if (req.fixed_cidr) {
    auto f = Subnet::parse(*req.fixed_cidr);
    if (!f) return std::move(f).error().wrap("DOCKYARD_FIXED_CIDR");
    e.fixed_cidr = *f;
  } else {
    e.fixed_cidr = e.bridge_cidr.subnet();
  }
  // Pool base /16: forced, or a random free one in 10.0.0.0/8 away from the bridge.
  if (req.pool_base) {
    auto p = Subnet::parse(*req.pool_base);
    if (!p) return std::move(p).error().wrap("DOCKYARD_POOL_BASE");
    e.pool_base = *p;
    if (!req.nocheck)
      if (auto why = self(*p); !why.empty()) return collides("DOCKYARD_POOL_BASE", *p, why);
  } else {
    std::uniform_int_distribution<unsigned> pick(0, 255);
    bool found = false;
    for (int attempt = 0; attempt < 1024 && !found; ++attempt) {
      auto s = *Subnet::parse(fmt::format("10.{}.0.0/16", pick(rng)));
      if (s.overlaps(e.bridge_cidr.subnet()) || (!req.nocheck && !self(s).empty())) continue;
      e.pool_base = s;
      found = true;
    }
    if (!found) return make_error(Errc::exhausted, "no free /16 left in 10.0.0.0/8 for the address pools");
  }
  if (auto r = validate(e); !r) return r.error();
  if (!req.nocheck)
    if (auto r = check_collisions(e, host, req.allow_docker_pools); !r) return r.error();
  return e;
}

core::Result<void> avoid_env_files(HostView& host, const std::vector<std::filesystem::path>& files) {
  for (const auto& file : files) {
    auto text = core::read_file(file);
    if (!text) return std::move(text).error().wrap("--avoid " + file.string());
    auto other = parse_env(*text);
    if (!other) return std::move(other).error().wrap("--avoid " + file.string());
    host.instances.push_back(std::move(*other));
  }
  return {};
}

}  // namespace berth::instance
