// SPDX-License-Identifier: Apache-2.0
#include "berth/net/cni/cni.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace berth::net::cni {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;

core::Error bad(std::string_view what) {
  return make_error(Errc::invalid_argument, fmt::format("CNI result: {}", what));
}

const json::string* get_string(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->value().if_string();
}

const json::array* get_array(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? nullptr : it->value().if_array();
}

std::vector<std::string> strings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const auto* a = get_array(o, key))
    for (const auto& v : *a)
      if (const auto* s = v.if_string()) out.emplace_back(*s);
  return out;
}

json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

bool old_format(std::string_view version) { return version.starts_with("0."); }

}  // namespace

const std::vector<std::string>& supported_versions() {
  static const std::vector<std::string> v = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
  return v;
}

bool is_supported(std::string_view version) {
  const auto& v = supported_versions();
  return std::find(v.begin(), v.end(), version) != v.end();
}

std::string to_json(const Result& r, std::string_view version) {
  json::array interfaces;
  for (const auto& i : r.interfaces) {
    json::object o{{"name", i.name}};
    if (!i.mac.empty()) o["mac"] = i.mac;
    if (!i.sandbox.empty()) o["sandbox"] = i.sandbox;
    interfaces.push_back(std::move(o));
  }
  json::array ips;
  for (const auto& ip : r.ips) {
    json::object o{{"address", ip.address.to_string()}};
    if (old_format(version)) o["version"] = ip.address.address.is_v4() ? "4" : "6";
    if (ip.gateway) o["gateway"] = ip.gateway->to_string();
    if (ip.interface) o["interface"] = *ip.interface;
    ips.push_back(std::move(o));
  }
  json::array routes;
  for (const auto& rt : r.routes) {
    json::object o{{"dst", rt.dst.to_string()}};
    if (rt.gw) o["gw"] = rt.gw->to_string();
    routes.push_back(std::move(o));
  }
  json::object dns;
  if (!r.dns.nameservers.empty()) dns["nameservers"] = to_array(r.dns.nameservers);
  if (!r.dns.domain.empty()) dns["domain"] = r.dns.domain;
  if (!r.dns.search.empty()) dns["search"] = to_array(r.dns.search);
  if (!r.dns.options.empty()) dns["options"] = to_array(r.dns.options);
  json::object root{{"cniVersion", std::string(version)}, {"interfaces", std::move(interfaces)},
                    {"ips", std::move(ips)}, {"routes", std::move(routes)}, {"dns", std::move(dns)}};
  return json::serialize(root);
}

core::Result<Result> parse_result(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return bad(fmt::format("not JSON: {}", ec.message()));
  const json::object* root = doc.if_object();
  if (!root) return bad("not a JSON object");
  Result r;
  if (const auto* v = get_string(*root, "cniVersion")) r.cni_version = *v;
  else return bad("missing 'cniVersion'");
  if (const auto* a = get_array(*root, "interfaces"))
    for (const auto& v : *a) {
      const json::object* o = v.if_object();
      if (!o) return bad("an interface is not an object");
      Interface i;
      if (const auto* s = get_string(*o, "name")) i.name = *s;
      else return bad("an interface has no 'name'");
      if (const auto* s = get_string(*o, "mac")) i.mac = *s;
      if (const auto* s = get_string(*o, "sandbox")) i.sandbox = *s;
      r.interfaces.push_back(std::move(i));
    }
  if (const auto* a = get_array(*root, "ips"))
    for (const auto& v : *a) {
      const json::object* o = v.if_object();
      if (!o) return bad("an IP is not an object");
      const auto* addr = get_string(*o, "address");
      if (!addr) return bad("an IP has no 'address'");
      auto ia = InterfaceAddress::parse(std::string_view(*addr));
      if (!ia) return bad(ia.error().message());
      IpConfig ip{*ia};
      if (const auto* g = get_string(*o, "gateway")) {
        auto gw = parse_address(std::string_view(*g));
        if (!gw) return bad(gw.error().message());
        ip.gateway = *gw;
      }
      if (auto it = o->find("interface"); it != o->end()) {
        if (!it->value().is_int64() || it->value().get_int64() < 0 ||
            it->value().get_int64() >= static_cast<std::int64_t>(r.interfaces.size()))
          return bad("an IP names an interface that does not exist");
        ip.interface = static_cast<int>(it->value().get_int64());
      }
      r.ips.push_back(std::move(ip));
    }
  if (const auto* a = get_array(*root, "routes"))
    for (const auto& v : *a) {
      const json::object* o = v.if_object();
      const auto* dst = o ? get_string(*o, "dst") : nullptr;
      if (!dst) return bad("a route has no 'dst'");
      auto ia = InterfaceAddress::parse(std::string_view(*dst));
      if (!ia) return bad(ia.error().message());
      RouteEntry rt{ia->subnet()};
      if (const auto* g = get_string(*o, "gw")) {
        auto gw = parse_address(std::string_view(*g));
        if (!gw) return bad(gw.error().message());
        rt.gw = *gw;
      }
      r.routes.push_back(std::move(rt));
    }
  if (auto it = root->find("dns"); it != root->end()) {
    if (const json::object* d = it->value().if_object()) {
      r.dns.nameservers = strings(*d, "nameservers");
      if (const auto* s = get_string(*d, "domain")) r.dns.domain = *s;
      r.dns.search = strings(*d, "search");
      r.dns.options = strings(*d, "options");
    }
  }
  return r;
}

std::string to_json(const PluginError& e) {
  json::object o{{"cniVersion", e.cni_version}, {"code", e.code}, {"msg", e.msg}};
  if (!e.details.empty()) o["details"] = e.details;
  return json::serialize(o);
}

std::optional<PluginError> parse_error(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return std::nullopt;
  const json::object* root = doc.if_object();
  if (!root) return std::nullopt;
  auto code = root->find("code");
  if (code == root->end() || !code->value().is_int64()) return std::nullopt;
  PluginError e;
  e.code = static_cast<int>(code->value().get_int64());
  if (const auto* s = get_string(*root, "cniVersion")) e.cni_version = *s;
  if (const auto* s = get_string(*root, "msg")) e.msg = *s;
  if (const auto* s = get_string(*root, "details")) e.details = *s;
  return e;
}

}  // namespace berth::net::cni
