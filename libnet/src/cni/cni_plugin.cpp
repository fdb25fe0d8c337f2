// SPDX-License-Identifier: Apache-2.0
#include "berth/net/cni/cni_plugin.hpp"

#include "berth/core/detach.hpp"
#include "berth/core/names.hpp"
#include "berth/net/cni/cni.hpp"
#include "berth/net/link/links.hpp"
#include "berth/net/link/link_removal.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>


namespace berth::net::cni {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;

/// An error that already knows its CNI code.
struct Failure {
  ErrorCode code;
  core::Error error;
};

core::Error config_error(std::string what) {
  return make_error(Errc::invalid_argument, fmt::format("network configuration: {}", what));
}

core::Result<std::string> opt_string(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::string();
  if (!it->value().is_string()) return config_error(fmt::format("'{}' must be a string", key));
  return std::string(it->value().get_string());
}

core::Result<PortMapping> port_from(const json::value& v) {
  const json::object* o = v.if_object();
  if (!o) return config_error("a port mapping is not an object");
  auto number = [&](std::string_view key) -> core::Result<int> {
    auto it = o->find(key);
    if (it == o->end() || !it->value().is_number())
      return config_error(fmt::format("port mapping: '{}' must be a number", key));
    boost::system::error_code ec;
    auto n = it->value().to_number<std::int64_t>(ec);
    if (ec || n < -1000000 || n > 1000000)
      return config_error(fmt::format("port mapping: '{}' is not a port", key));
    return static_cast<int>(n);
  };
  PortMapping m;
  auto host = number("hostPort");
  if (!host) return host.error();
  auto container = number("containerPort");
  if (!container) return container.error();
  m.host_port = *host;
  m.container_port = *container;
  auto proto = opt_string(*o, "protocol");
  if (!proto) return proto.error();
  if (!proto->empty()) {
    auto p = parse_protocol(*proto);
    if (!p) return std::move(p).error().wrap("port mapping");
    m.protocol = *p;
  }
  auto host_ip = opt_string(*o, "hostIP");
  if (!host_ip) return host_ip.error();
  if (!host_ip->empty()) {
    auto ip = parse_address(*host_ip);
    if (!ip) return std::move(ip).error().wrap("port mapping 'hostIP'");
    if (!ip->is_unspecified()) m.host_address = *ip;
  }
  if (auto ok = validate(m); !ok) return std::move(ok).error().wrap(fmt::format("port mapping {}", to_string(m)));
  return m;
}

Outcome fail(std::string_view version, ErrorCode code, const core::Error& e) {
  PluginError err;
  err.cni_version = is_supported(version) ? std::string(version) : "1.0.0";
  err.code = static_cast<int>(code);
  err.msg = e.message();
  return Outcome{1, to_json(err)};
}

Result to_result(const Attachment& a, std::string_view version) {
  Result r;
  r.cni_version = std::string(version);
  r.interfaces.push_back({a.host_veth, {}, {}});
  r.interfaces.push_back({a.ifname, a.mac, a.netns.string()});
  for (std::size_t i = 0; i < a.addresses.size(); ++i) {
    IpConfig ip{a.addresses[i]};
    if (i < a.gateways.size()) ip.gateway = a.gateways[i];
    ip.interface = 1;
    r.ips.push_back(std::move(ip));
    if (i < a.gateways.size())
      r.routes.push_back({*Subnet::parse(a.addresses[i].address.is_v4() ? "0.0.0.0/0" : "::/0"), a.gateways[i]});
  }
  return r;
}

core::Result<std::unique_ptr<Backend>> open_backend(const PluginConfig& cfg) {
  return make_native_backend(cfg.backend);
}

}  // namespace

Invocation invocation_from_environment(const std::map<std::string, std::string>& env, std::string config) {
  auto get = [&](const char* k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  return Invocation{get("CNI_COMMAND"), get("CNI_CONTAINERID"), get("CNI_NETNS"), get("CNI_IFNAME"),
                    get("CNI_ARGS"),    get("CNI_PATH"),        std::move(config)};
}

core::Result<PluginConfig> parse_plugin_config(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return make_error(Errc::invalid_argument, fmt::format("network configuration is not JSON: {}", ec.message()));
  const json::object* o = doc.if_object();
  if (!o) return config_error("not a JSON object");
  PluginConfig cfg;
  auto version = opt_string(*o, "cniVersion");
  if (!version) return version.error();
  cfg.cni_version = version->empty() ? "0.3.0" : *version;
  auto name = opt_string(*o, "name");
  if (!name) return name.error();
  if (name->empty()) return config_error("'name' is missing");
  auto& n = cfg.backend.network;
  n.name = *name;
  n.bridge = "berth0";
  cfg.backend.state_dir = "/var/lib/berth/cni";

  auto set_string = [&](std::string_view key, auto&& apply) -> core::Result<void> {
    auto v = opt_string(*o, key);
    if (!v) return v.error();
    if (v->empty()) return {};
    auto r = apply(*v);
    if (!r) return std::move(r).error().wrap(fmt::format("network configuration '{}'", key));
    return {};
  };
  auto subnet = [](std::optional<Subnet>& out) {
    return [&out](const std::string& s) -> core::Result<void> {
      auto p = Subnet::parse(s);
      if (!p) return p.error();
      out = *p;
      return {};
    };
  };
  auto address = [](std::optional<IpAddress>& out) {
    return [&out](const std::string& s) -> core::Result<void> {
      auto p = parse_address(s);
      if (!p) return p.error();
      out = *p;
      return {};
    };
  };
  std::optional<Subnet> v4;
  if (auto r = set_string("bridge", [&](const std::string& s) -> core::Result<void> { n.bridge = s; return {}; }); !r)
    return r.error();
  if (auto r = set_string("subnet", subnet(v4)); !r) return r.error();
  if (v4) n.subnet = *v4;
  if (auto r = set_string("gateway", address(n.gateway)); !r) return r.error();
  if (auto r = set_string("subnet6", subnet(n.subnet6)); !r) return r.error();
  if (auto r = set_string("gateway6", address(n.gateway6)); !r) return r.error();
  if (auto r = set_string("firewallTable", [&](const std::string& s) -> core::Result<void> {
        cfg.backend.firewall_table = s;
        return {};
      });
      !r)
    return r.error();
  if (auto r = set_string("stateDir", [&](const std::string& s) -> core::Result<void> {
        cfg.backend.state_dir = s;
        return {};
      });
      !r)
    return r.error();
  if (auto it = o->find("internal"); it != o->end()) {
    if (!it->value().is_bool()) return config_error("'internal' must be true or false");
    n.internal = it->value().get_bool();
  }
  if (auto it = o->find("mtu"); it != o->end()) {
    if (!it->value().is_int64() || it->value().get_int64() < 68 || it->value().get_int64() > 65535)
      return config_error("'mtu' must be a number from 68 to 65535");
    n.mtu = static_cast<unsigned>(it->value().get_int64());
  }
  if (auto it = o->find("uplinks"); it != o->end()) {
    const json::array* a = it->value().if_array();
    if (!a) return config_error("'uplinks' must be a list of interface names");
    for (const auto& u : *a) {
      if (!u.is_string()) return config_error("'uplinks' must be a list of interface names");
      cfg.backend.uplinks.emplace_back(u.get_string());
    }
  }
  if (auto it = o->find("runtimeConfig"); it != o->end()) {
    const json::object* rc = it->value().if_object();
    if (!rc) return config_error("'runtimeConfig' must be an object");
    if (auto pm = rc->find("portMappings"); pm != rc->end()) {
      const json::array* a = pm->value().if_array();
      if (!a) return config_error("'runtimeConfig.portMappings' must be a list");
      for (const auto& v : *a) {
        auto m = port_from(v);
        if (!m) return m.error();
        cfg.port_mappings.push_back(*m);
      }
    }
  }
  if (auto it = o->find("cni.dev/valid-attachments"); it != o->end()) {
    const json::array* a = it->value().if_array();
    if (!a) return config_error("'cni.dev/valid-attachments' must be a list");
    for (const auto& v : *a) {
      const json::object* att = v.if_object();
      if (!att) return config_error("a valid attachment is not an object");
      auto id = opt_string(*att, "containerID");
      auto ifname = opt_string(*att, "ifname");
      if (!id || !ifname) return config_error("a valid attachment needs 'containerID' and 'ifname'");
      cfg.valid_attachments.emplace_back(*id, *ifname);
    }
  }
  return cfg;
}

Outcome run_plugin(const Invocation& call) {
  if (call.command == "VERSION") {
    json::array versions;
    for (const auto& v : supported_versions()) versions.emplace_back(v);
    return Outcome{0, json::serialize(json::object{{"cniVersion", "1.1.0"}, {"supportedVersions", std::move(versions)}})};
  }
  auto cfg = parse_plugin_config(call.config);
  if (!cfg) return fail("1.0.0", ErrorCode::InvalidNetworkConfig, cfg.error());
  const std::string& version = cfg->cni_version;
  if (!is_supported(version))
    return fail(version, ErrorCode::IncompatibleVersion,
                make_error(Errc::invalid_argument, fmt::format("CNI version {} is not supported (supported: {})",
                                                               version, fmt::join(supported_versions(), ", "))));
  auto need = [&](const std::string& value, const char* name) -> std::optional<Outcome> {
    if (!value.empty()) return std::nullopt;
    return fail(version, ErrorCode::InvalidEnvironment,
                make_error(Errc::invalid_argument, fmt::format("{} is not set", name)));
  };

  if (call.command == "ADD") {
    for (auto [v, n] : {std::pair{&call.container_id, "CNI_CONTAINERID"}, {&call.netns, "CNI_NETNS"},
                        {&call.ifname, "CNI_IFNAME"}})
      if (auto bad = need(*v, n)) return *bad;
    auto backend = open_backend(*cfg);
    if (!backend) return fail(version, ErrorCode::InvalidNetworkConfig, backend.error());
    SetupRequest req{.container_id = call.container_id, .netns = call.netns, .ifname = call.ifname,
                     .ports = cfg->port_mappings};
    auto a = (*backend)->setup(req);
    if (!a) return fail(version, ErrorCode::Internal, a.error());
    return Outcome{0, to_json(to_result(*a, version), version)};
  }
  if (call.command == "DEL") {
    if (auto bad = need(call.container_id, "CNI_CONTAINERID")) return *bad;
    if (auto v = core::validate_container_id(call.container_id); !v)
      return fail(version, ErrorCode::InvalidEnvironment, v.error());
    // Most of a DEL is the kernel's wait after it has unregistered the veth
    // (RCU grace periods, ~20 ms); a detached child process waits that out,
    // and the plugin goes on once the veth is gone from the host. Its name
    // follows from the network and the container, so this comes before
    // reading any state; teardown below then finds it gone.
    if (auto gone = remove_link_detached(host_veth_name(cfg->backend.network.name, call.container_id)); !gone)
      return fail(version, ErrorCode::Internal, gone.error());
    auto backend = open_backend(*cfg);
    if (!backend) return fail(version, ErrorCode::InvalidNetworkConfig, backend.error());
    if (auto r = (*backend)->teardown({.container_id = call.container_id, .netns = call.netns, .ifname = call.ifname}); !r)
      return fail(version, ErrorCode::Internal, r.error());
    // The port maps were deleted in a transaction: closing the firewall's
    // socket now would wait for nf_tables to free them (~20 ms).
    (void)core::release_descriptors_after_exit();
    return Outcome{0, {}};
  }
  if (call.command == "CHECK") {
    for (auto [v, n] : {std::pair{&call.container_id, "CNI_CONTAINERID"}, {&call.netns, "CNI_NETNS"},
                        {&call.ifname, "CNI_IFNAME"}})
      if (auto bad = need(*v, n)) return *bad;
    auto backend = open_backend(*cfg);
    if (!backend) return fail(version, ErrorCode::InvalidNetworkConfig, backend.error());
    if (auto r = (*backend)->check({.container_id = call.container_id, .netns = call.netns, .ifname = call.ifname}); !r)
      return fail(version, r.error().is(Errc::not_found) ? ErrorCode::UnknownContainer : ErrorCode::Internal, r.error());
    return Outcome{0, {}};
  }
  if (call.command == "STATUS") {
    // Ready when the firewall can be reached and the state directory used.
    auto fw = make_nft_firewall({.table = cfg->backend.firewall_table});
    if (!fw) return fail(version, ErrorCode::PluginNotAvailable, fw.error());
    return Outcome{0, {}};
  }
  if (call.command == "GC") {
    auto backend = open_backend(*cfg);
    if (!backend) return fail(version, ErrorCode::InvalidNetworkConfig, backend.error());
    auto atts = (*backend)->attachments();
    if (!atts) return fail(version, ErrorCode::IoFailure, atts.error());
    for (const auto& a : *atts) {
      bool valid = std::any_of(cfg->valid_attachments.begin(), cfg->valid_attachments.end(),
                               [&](const auto& v) { return v.first == a.container_id && v.second == a.ifname; });
      if (valid) continue;
      if (auto r = (*backend)->teardown({.container_id = a.container_id, .ifname = a.ifname}); !r)
        return fail(version, ErrorCode::Internal, r.error());
    }
    (void)core::release_descriptors_after_exit();  // as after DEL
    return Outcome{0, {}};
  }
  return fail(version, ErrorCode::InvalidEnvironment,
              make_error(Errc::invalid_argument,
                         call.command.empty() ? std::string("CNI_COMMAND is not set")
                                              : fmt::format("unknown CNI_COMMAND '{}'", call.command)));
}

}  // namespace berth::net::cni
