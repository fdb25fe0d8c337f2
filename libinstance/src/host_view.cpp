// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/host_view.hpp"

#include "berth/core/fs.hpp"
#include "berth/net/link/links.hpp"

#include <fmt/format.h>

namespace berth::instance {

core::Result<HostView> read_host_view(const ScanOptions& o) {
  HostView v;
  auto links = net::Links::open();
  if (!links) return std::move(links).error().wrap("read the host's network");
  auto all = links->list_links();
  if (!all) return all.error();
  for (const auto& l : *all) v.interfaces.push_back(l.name);
  auto routes = links->list_routes();
  if (!routes) return routes.error();
  for (const auto& r : *routes)
    if (r.destination && r.destination->is_v4()) v.networks.push_back(*r.destination);
  auto addrs = links->list_addresses();
  if (!addrs) return addrs.error();
  for (const auto& a : *addrs)
    if (a.address.address.is_v4() && !a.address.address.is_loopback()) v.networks.push_back(a.address.subnet());
  std::error_code ec;
  for (const auto& dir : o.unit_dirs)
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".service") v.units.push_back(e.path().filename().string());
  for (const auto& e : std::filesystem::directory_iterator(o.inventory_dir, ec)) {
    if (e.path().extension() != ".env") continue;
    auto text = core::read_file(e.path());
    if (!text) return text.error();
    auto env = parse_env(*text);
    if (!env) return std::move(env).error().wrap(fmt::format("instance env file '{}'", e.path().string()));
    v.instances.push_back(std::move(*env));
  }
  v.exists = [](const std::filesystem::path& p) {
    std::error_code e;
    return std::filesystem::exists(p, e);
  };
  return v;
}

GenEnvRequest request_from_environment(const std::map<std::string, std::string>& env) {
  GenEnvRequest r;
  auto take = [&](const char* key, std::optional<std::string>& out) {
    if (auto it = env.find(key); it != env.end() && !it->second.empty()) out = it->second;
  };
  take("DOCKYARD_ROOT", r.root);
  take("DOCKYARD_DOCKER_PREFIX", r.prefix);
  take("DOCKYARD_BRIDGE_CIDR", r.bridge_cidr);
  take("DOCKYARD_FIXED_CIDR", r.fixed_cidr);
  take("DOCKYARD_POOL_BASE", r.pool_base);
  take("DOCKYARD_POOL_SIZE", r.pool_size);
  return r;
}

}  // namespace berth::instance
