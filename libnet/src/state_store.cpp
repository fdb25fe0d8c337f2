// SPDX-License-Identifier: Apache-2.0
#include "state_store.hpp"

#include "berth/core/fs.hpp"
#include "berth/core/names.hpp"

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

fs::path network_file(const fs::path& dir, std::string_view name) {
  return dir / "networks" / (std::string(name) + ".json");
}
fs::path container_dir(const fs::path& dir, std::string_view network) { return dir / "containers" / std::string(network); }
fs::path container_file(const fs::path& dir, std::string_view network, std::string_view id) {
  return container_dir(dir, network) / (std::string(id) + ".json");
}

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

Result<json::object> read_object(const fs::path& p) {
  auto text = core::read_file(p);
  if (!text) return text.error();
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object())
    return make_error(Errc::corrupt, fmt::format("record '{}' is corrupt: {}", p.string(),
                                                 ec ? ec.message() : std::string("not an object")));
  return std::move(v.get_object());
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

Result<void> validate_container_id(std::string_view id) {
  if (!core::is_plain_name(id, 128))
    return make_error(Errc::invalid_argument,
                      fmt::format("container id '{}' must be 1 to 128 letters, digits, '-', '_' or '.'", id));
  return {};
}

Result<void> save_network(const fs::path& dir, const NetworkOptions& n) {
  json::object o{{"name", n.name},
                 {"bridge", n.bridge},
                 {"subnet", n.subnet.to_string()},
                 {"internal", n.internal},
                 {"mtu", n.mtu}};
  if (n.gateway) o["gateway"] = n.gateway->to_string();
  if (n.subnet6) o["subnet6"] = n.subnet6->to_string();
  if (n.gateway6) o["gateway6"] = n.gateway6->to_string();
  if (auto r = core::make_directories(dir / "networks", 0700); !r) return r;
  return core::write_file_atomic(network_file(dir, n.name), json::serialize(o), 0600);
}

Result<std::vector<NetworkOptions>> load_networks(const fs::path& dir) {
  std::vector<NetworkOptions> out;
  std::error_code ec;
  if (!fs::exists(dir / "networks", ec)) return out;
  for (const auto& entry : fs::directory_iterator(dir / "networks", ec)) {
    if (entry.path().extension() != ".json") continue;
    auto o = read_object(entry.path());
    if (!o) return o.error();
    NetworkOptions n;
    n.name = str(*o, "name");
    n.bridge = str(*o, "bridge");
    auto subnet = Subnet::parse(str(*o, "subnet"));
    if (!subnet) return std::move(subnet).error().wrap(fmt::format("record '{}'", entry.path().string()));
    n.subnet = *subnet;
    auto address = [&](std::string_view key, std::optional<IpAddress>& field) -> Result<void> {
      auto text = str(*o, key);
      if (text.empty()) return {};
      auto ip = parse_address(text);
      if (!ip) return std::move(ip).error().wrap(fmt::format("record '{}'", entry.path().string()));
      field = *ip;
      return {};
    };
    if (auto r = address("gateway", n.gateway); !r) return r.error();
    if (auto s6 = str(*o, "subnet6"); !s6.empty()) {
      auto s = Subnet::parse(s6);
      if (!s) return std::move(s).error().wrap(fmt::format("record '{}'", entry.path().string()));
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

Result<void> save_attachment(const fs::path& dir, const Attachment& a) {
  json::array addrs, gws, ports;
  for (const auto& x : a.addresses) addrs.emplace_back(x.to_string());
  for (const auto& g : a.gateways) gws.emplace_back(g.to_string());
  for (const auto& p : a.ports) ports.emplace_back(to_json(p));
  json::object o{{"id", a.container_id}, {"network", a.network}, {"ifname", a.ifname},
                 {"host_veth", a.host_veth}, {"mac", a.mac}, {"addresses", std::move(addrs)},
                 {"gateways", std::move(gws)}, {"netns", a.netns.string()}, {"ports", std::move(ports)},
                 {"hostname", a.hostname}, {"aliases", strings(a.aliases)}};
  if (auto r = core::make_directories(container_dir(dir, a.network), 0700); !r) return r;
  return core::write_file_atomic(container_file(dir, a.network, a.container_id), json::serialize(o), 0600);
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
  const fs::path file = container_file(dir, network, container_id);
  auto o = read_object(file);
  if (!o) {
    if (o.error().code == std::errc::no_such_file_or_directory) return std::optional<Attachment>{};
    return o.error();
  }
  auto a = attachment_from(*o, file);
  if (!a) return a.error();
  return std::optional<Attachment>(std::move(*a));
}

Result<std::vector<Attachment>> load_attachments(const fs::path& dir, std::string_view network) {
  std::vector<Attachment> out;
  std::error_code ec;
  const fs::path d = container_dir(dir, network);
  if (!fs::exists(d, ec)) return out;
  for (const auto& entry : fs::directory_iterator(d, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto o = read_object(entry.path());
    if (!o) return o.error();
    auto a = attachment_from(*o, entry.path());
    if (!a) return a.error();
    out.push_back(std::move(*a));
  }
  return out;
}

Result<void> remove_attachment(const fs::path& dir, std::string_view network, std::string_view container_id) {
  const fs::path file = container_file(dir, network, container_id);
  if (::unlink(file.c_str()) != 0 && errno != ENOENT)
    return core::errno_error(errno, fmt::format("remove record '{}'", file.string()));
  return {};
}

}  // namespace berth::net::state
