// SPDX-License-Identifier: Apache-2.0
#include "native/state_store.hpp"

#include "berth/core/names.hpp"
#include "berth/core/store.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <unistd.h>

namespace berth::net::state {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using core::Errc;
using core::make_error;
using core::Result;

core::RecordStore networks_store(const fs::path& dir) { return core::RecordStore(dir / "networks"); }
core::RecordStore containers_store(const fs::path& dir, std::string_view network) {
  return core::RecordStore(dir / "containers" / std::string(network));
}
std::string record_name(std::string_view name) { return std::string(name) + ".json"; }

std::string str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().get_string());
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

/// A record as a JSON object; nullopt when there is none.
Result<std::optional<json::object>> read_object(const core::RecordStore& store, const std::string& name) {
  const fs::path p = store.path_of(name);
  auto text = store.get(name);
  if (!text) return text.error();
  if (!*text) return std::optional<json::object>{};
  boost::system::error_code ec;
  json::value v = json::parse(**text, ec);
  if (ec || !v.is_object())
    return make_error(Errc::corrupt, fmt::format("record '{}' is corrupt: {}", p.string(),
                                                 ec ? ec.message() : std::string("not an object")));
  return std::optional<json::object>(std::move(v.get_object()));
}

json::object to_json(const PortMapping& m) {
  json::object o{{"protocol", std::string(protocol_name(m.protocol))},
                 {"host_port", m.host_port},
                 {"container_port", m.container_port},
                 {"count", m.count}};
  if (m.host_address) o["host_address"] = m.host_address->to_string();
  return o;
}

Result<PortMapping> port_from_json(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return make_error(Errc::corrupt, "a port mapping is not an object");
  PortMapping m;
  auto proto = parse_protocol(str(*o, "protocol"));
  if (!proto) return proto.error();
  m.protocol = *proto;
  auto num = [&](std::string_view k) -> int {
    auto it = o->find(k);
    return it != o->end() && it->value().is_int64() ? static_cast<int>(it->value().get_int64()) : 0;
  };
  m.host_port = num("host_port");
  m.container_port = num("container_port");
  m.count = num("count");
  if (auto h = str(*o, "host_address"); !h.empty()) {
    auto ip = parse_address(h);
    if (!ip) return ip.error();
    m.host_address = *ip;
  }
  if (auto ok = validate(m); !ok) return ok.error();
  return m;
}

}  // namespace

Result<void> save_network(const fs::path& dir, const NetworkOptions& n) {
  json::object o{{"name", n.name},
                 {"bridge", n.bridge},
                 {"subnet", n.subnet.to_string()},
                 {"internal", n.internal},
                 {"mtu", n.mtu}};
  if (n.gateway) o["gateway"] = n.gateway->to_string();
  if (n.subnet6) o["subnet6"] = n.subnet6->to_string();
  if (n.gateway6) o["gateway6"] = n.gateway6->to_string();
  return networks_store(dir).put(record_name(n.name), json::serialize(o));
}

Result<std::vector<NetworkOptions>> load_networks(const fs::path& dir) {
  std::vector<NetworkOptions> out;
  const core::RecordStore store = networks_store(dir);
  auto names = store.list(".json");
  if (!names) return names.error();
  for (const auto& name : *names) {
    const fs::path file = store.path_of(name);
    auto record = read_object(store, name);
    if (!record) return record.error();
    if (!*record) continue;  // removed meanwhile
    const json::object* o = &**record;
    NetworkOptions n;
    n.name = str(*o, "name");
    n.bridge = str(*o, "bridge");
    auto subnet = Subnet::parse(str(*o, "subnet"));
    if (!subnet) return std::move(subnet).error().wrap(fmt::format("record '{}'", file.string()));
    n.subnet = *subnet;
    auto address = [&](std::string_view key, std::optional<IpAddress>& field) -> Result<void> {
      auto text = str(*o, key);
      if (text.empty()) return {};
      auto ip = parse_address(text);
      if (!ip) return std::move(ip).error().wrap(fmt::format("record '{}'", file.string()));
      field = *ip;
      return {};
    };
    if (auto r = address("gateway", n.gateway); !r) return r.error();
    if (auto s6 = str(*o, "subnet6"); !s6.empty()) {
      auto s = Subnet::parse(s6);
      if (!s) return std::move(s).error().wrap(fmt::format("record '{}'", file.string()));
      n.subnet6 = *s;
    }
    if (auto r = address("gateway6", n.gateway6); !r) return r.error();
    if (auto it = o->find("internal"); it != o->end() && it->value().is_bool()) n.internal = it->value().get_bool();
    if (auto it = o->find("mtu"); it != o->end() && it->value().is_int64())
      n.mtu = static_cast<unsigned>(it->value().get_int64());
    out.push_back(std::move(n));
  }
  return out;
}

Result<void> remove_network(const fs::path& dir, std::string_view name) {
  return networks_store(dir).remove(record_name(name));
}

Result<void> save_attachment(const fs::path& dir, const Attachment& a) {
  json::array addrs, gws, ports;
  for (const auto& x : a.addresses) addrs.emplace_back(x.to_string());
  for (const auto& g : a.gateways) gws.emplace_back(g.to_string());
  for (const auto& p : a.ports) ports.emplace_back(to_json(p));
  json::object o{{"id", a.container_id}, {"network", a.network}, {"ifname", a.ifname},
                 {"host_veth", a.host_veth}, {"mac", a.mac}, {"addresses", std::move(addrs)},
                 {"gateways", std::move(gws)}, {"netns", a.netns.string()}, {"ports", std::move(ports)},
                 {"hostname", a.hostname}, {"aliases", strings(a.aliases)}};
  return containers_store(dir, a.network).put(record_name(a.container_id), json::serialize(o));
}

namespace {
Result<Attachment> attachment_from(const json::object& o, const fs::path& file) {
  Attachment a;
  a.container_id = str(o, "id");
  a.network = str(o, "network");
  a.ifname = str(o, "ifname");
  a.host_veth = str(o, "host_veth");
  a.mac = str(o, "mac");
  a.netns = str(o, "netns");
  a.hostname = str(o, "hostname");
  auto wrap = [&](core::Error e) { return std::move(e).wrap(fmt::format("record '{}'", file.string())); };
  auto arr = [&](std::string_view k) -> const json::array* {
    auto it = o.find(k);
    return it == o.end() ? nullptr : it->value().if_array();
  };
  if (auto* v = arr("addresses"))
    for (const auto& x : *v) {
      auto ia = InterfaceAddress::parse(x.is_string() ? std::string_view(x.get_string()) : std::string_view());
      if (!ia) return wrap(ia.error());
      a.addresses.push_back(*ia);
    }
  if (auto* v = arr("gateways"))
    for (const auto& x : *v) {
      auto ip = parse_address(x.is_string() ? std::string_view(x.get_string()) : std::string_view());
      if (!ip) return wrap(ip.error());
      a.gateways.push_back(*ip);
    }
  if (auto* v = arr("ports"))
    for (const auto& x : *v) {
      auto p = port_from_json(x);
      if (!p) return wrap(p.error());
      a.ports.push_back(*p);
    }
  if (auto* v = arr("aliases"))
    for (const auto& x : *v)
      if (x.is_string()) a.aliases.emplace_back(x.get_string());
  return a;
}
}  // namespace

Result<std::optional<Attachment>> load_attachment(const fs::path& dir, std::string_view network,
                                                  std::string_view container_id) {
  const core::RecordStore store = containers_store(dir, network);
  const std::string name = record_name(container_id);
  auto o = read_object(store, name);
  if (!o) return o.error();
  if (!*o) return std::optional<Attachment>{};
  auto a = attachment_from(**o, store.path_of(name));
  if (!a) return a.error();
  return std::optional<Attachment>(std::move(*a));
}

Result<std::vector<Attachment>> load_attachments(const fs::path& dir, std::string_view network) {
  std::vector<Attachment> out;
  const core::RecordStore store = containers_store(dir, network);
  auto names = store.list(".json");
  if (!names) return names.error();
  for (const auto& name : *names) {
    auto o = read_object(store, name);
    if (!o) return o.error();
    if (!*o) continue;  // removed meanwhile
    auto a = attachment_from(**o, store.path_of(name));
    if (!a) return a.error();
    out.push_back(std::move(*a));
  }
  return out;
}

Result<void> remove_attachment(const fs::path& dir, std::string_view network, std::string_view container_id) {
  const core::RecordStore store = containers_store(dir, network);
  BERTH_TRY(store.remove(record_name(container_id)), "");
  // A writer killed halfway left its temporary file; the caller holds the lock of every writer.
  store.remove_leftovers(record_name(container_id));
  return {};
}

}  // namespace berth::net::state
