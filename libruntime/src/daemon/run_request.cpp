// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/run_request.hpp"

#include "berth/runtime/daemon/health.hpp"

#include "berth/core/names.hpp"
#include "berth/runtime/container/etc_files.hpp"
#include "json_fields.hpp"
#include "spec_json.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace berth::runtime::daemon {

using core::Errc;
using core::make_error;
using core::Result;
namespace json = boost::json;

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const std::string what = fmt::format("duration '{}'", text);
  if (text.empty()) return make_error(Errc::invalid_argument, fmt::format("{}: empty", what));
  if (text == "0") return std::chrono::milliseconds(0);
  double total_ms = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (start == i) return make_error(Errc::invalid_argument, fmt::format("{}: expected a number, as in 30s or 1m30s", what));
    double value = 0;
    try {
      value = std::stod(std::string(text.substr(start, i - start)));
    } catch (...) {
      return make_error(Errc::invalid_argument, fmt::format("{}: bad number", what));
    }
    std::size_t unit_start = i;
    while (i < text.size() && !((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1000;
    else if (unit == "m") scale = 60'000;
    else if (unit == "h") scale = 3'600'000;
    else if (unit == "us" || unit == "µs") scale = 0.001;
    else if (unit == "ns") scale = 0.000001;
    else return make_error(Errc::invalid_argument, fmt::format("{}: unit '{}' is not one of h, m, s, ms, us, ns", what, unit));
    total_ms += value * scale;
  }
  if (!std::isfinite(total_ms) || total_ms > 1e12)
    return make_error(Errc::invalid_argument, fmt::format("{}: too long", what));
  return std::chrono::milliseconds(static_cast<std::int64_t>(total_ms));
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return fmt::format("{}h", ms / 3'600'000);
  if (ms % 60'000 == 0) return fmt::format("{}m", ms / 60'000);
  if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
  return fmt::format("{}ms", ms);
}

Result<oci::BindMount> parse_volume(std::string_view text) {
  const std::string what = fmt::format("volume '{}'", text);
  oci::BindMount m;
  auto first = text.find(':');
  if (first == std::string_view::npos)
    return make_error(Errc::invalid_argument, fmt::format("{}: expected SOURCE:DESTINATION[:ro]", what));
  m.source = std::string(text.substr(0, first));
  std::string_view rest = text.substr(first + 1);
  if (auto second = rest.find(':'); second != std::string_view::npos) {
    std::string_view mode = rest.substr(second + 1);
    if (mode == "ro") m.read_only = true;
    else if (mode != "rw") return make_error(Errc::invalid_argument, fmt::format("{}: mode '{}' is not ro or rw", what, mode));
    rest = rest.substr(0, second);
  }
  m.destination = std::string(rest);
  if (!m.source.is_absolute())
    return make_error(Errc::invalid_argument, fmt::format("{}: the source must be an absolute path (named volumes are not supported)", what));
  if (!m.destination.is_absolute() || m.destination == "/")
    return make_error(Errc::invalid_argument, fmt::format("{}: the destination must be an absolute path other than /", what));
  return m;
}

namespace {

Result<net::PortMapping> structured_port(const json::value& v, std::size_t index) {
  const auto* o = v.if_object();
  const std::string where = fmt::format("ports[{}]", index);
  if (!o) return make_error(Errc::invalid_argument, fmt::format("field '{}' must be an object", where));
  JsonFields f(*o, where);
  net::PortMapping m;
  auto host = f.integer("hostPort", 1, 65535);
  if (!host) return host.error();
  auto container = f.integer("containerPort", 1, 65535);
  if (!container) return container.error();
  if (!*host || !*container) return f.bad("hostPort", "and containerPort are both needed");
  m.host_port = static_cast<int>(**host);
  m.container_port = static_cast<int>(**container);
  auto proto = f.string("protocol");
  if (!proto) return proto.error();
  if (*proto) {
    auto p = net::parse_protocol(**proto);
    if (!p) return f.bad("protocol", "must be tcp or udp");
    m.protocol = *p;
  }
  auto address = f.string("hostIp");
  if (!address) return address.error();
  if (*address && !(*address)->empty()) {
    auto a = net::parse_address(**address);
    if (!a) return f.bad("hostIp", "is not an IP address");
    if (!a->is_unspecified()) m.host_address = *a;  // 0.0.0.0: every address, as in -p
  }
  if (auto done = f.finish(); !done) return done.error();
  return m;
}

Result<HealthCheck> healthcheck(const json::object& o) {
  JsonFields f(o, "healthcheck");
  HealthCheck h;
  auto type = f.string("type");
  if (!type) return type.error();
  const std::string t = type->value_or("none");
  if (t == "exec" || t == "cmd") h.kind = HealthCheck::Kind::Exec;
  else if (t == "http") h.kind = HealthCheck::Kind::Http;
  else if (t == "tcp") h.kind = HealthCheck::Kind::Tcp;
  else if (t == "none") h.kind = HealthCheck::Kind::None;
  else return f.bad("type", "must be exec, http, tcp or none");
  auto command = f.strings("command");
  if (!command) return command.error();
  h.command = std::move(*command);
  auto url = f.string("url");
  if (!url) return url.error();
  h.url = url->value_or("");
  auto port = f.integer("port", 1, 65535);
  if (!port) return port.error();
  h.port = static_cast<int>(port->value_or(0));
  struct Duration {
    const char* key;
    std::chrono::milliseconds* out;
  };
  for (auto [key, out] : {Duration{"interval", &h.interval}, Duration{"timeout", &h.timeout},
                          Duration{"start_period", &h.start_period}}) {
    auto s = f.string(key);
    if (!s) return s.error();
    if (!*s) continue;
    auto d = parse_duration(**s);
    if (!d) return f.bad(key, d.error().message());
    *out = *d;
  }
  auto retries = f.integer("retries", 0, 1000);
  if (!retries) return retries.error();
  h.retries = static_cast<unsigned>(retries->value_or(3));
  if (auto done = f.finish(); !done) return done.error();
  if (h.kind == HealthCheck::Kind::None) return HealthCheck{};  // what else it says does not apply
  if (h.kind == HealthCheck::Kind::Exec && h.command.empty()) return f.bad("command", "is needed for an exec check");
  if (h.kind == HealthCheck::Kind::Http && h.url.empty()) return f.bad("url", "is needed for an http check");
  if (h.kind == HealthCheck::Kind::Http)
    if (auto u = parse_health_url(h.url); !u) return f.bad("url", u.error().message());
  if (h.kind == HealthCheck::Kind::Tcp && h.port == 0) return f.bad("port", "is needed for a tcp check");
  if (h.kind != HealthCheck::Kind::None && (h.interval.count() <= 0 || h.timeout.count() <= 0))
    return f.bad("interval", "and timeout must be longer than 0");
  return h;
}

}  // namespace

Result<WorkloadSpec> spec_from_json(const json::object& o) {
  JsonFields f(o);
  WorkloadSpec s;
  struct Text {
    const char* key;
    std::string* out;
  };
  for (auto [key, out] : {Text{"id", &s.name}, Text{"image", &s.image}, Text{"hostname", &s.hostname},
                          Text{"user", &s.user}, Text{"workdir", &s.working_dir}, Text{"network", &s.network}}) {
    auto v = f.string(key);
    if (!v) return v.error();
    *out = v->value_or("");
  }
  if (auto name = f.string("name"); !name) {
    return name.error();
  } else if (*name && !(*name)->empty()) {
    if (!s.name.empty() && s.name != **name) return f.bad("name", "and 'id' differ");
    s.name = **name;
  }
  if (s.image.empty()) return f.bad("image", "is required");
  if (!s.name.empty()) {
    if (auto r = core::validate_container_id(s.name); !r) return f.bad("id", r.error().message());
  }
  if (!s.hostname.empty()) {
    if (auto r = container::validate_hostname(s.hostname); !r) return f.bad("hostname", r.error().message());
  }
  if (!s.network.empty() && !core::is_plain_name(s.network, 64)) return f.bad("network", "is not a network name");
  struct List {
    const char* key;
    std::vector<std::string>* out;
  };
  for (auto [key, out] : {List{"args", &s.args}, List{"entrypoint", &s.entrypoint}, List{"env", &s.env},
                          List{"cap_add", &s.cap_add}, List{"cap_drop", &s.cap_drop}}) {
    auto v = f.strings(key);
    if (!v) return v.error();
    *out = std::move(*v);
  }
  for (const auto& e : s.env)
    if (e.empty() || e.front() == '=') return f.bad("env", fmt::format("entry '{}' is not KEY=VALUE", e));
  auto restart = f.string("restart");
  if (!restart) return restart.error();
  {
    auto p = parse_restart_policy(restart->value_or(""));
    if (!p) return f.bad("restart", p.error().message());
    s.restart = *p;
  }
  auto publish = f.strings("publish");
  if (!publish) return publish.error();
  for (const auto& p : *publish) {
    auto m = net::parse_port_mapping(p);
    if (!m) return f.bad("publish", m.error().message());
    s.ports.push_back(*m);
  }
  auto ports = f.array("ports");
  if (!ports) return ports.error();
  if (*ports) {
    for (std::size_t i = 0; i < (*ports)->size(); ++i) {
      auto m = structured_port((**ports)[i], i);
      if (!m) return m.error();
      s.ports.push_back(*m);
    }
  }
  auto hc = f.object("healthcheck");
  if (!hc) return hc.error();
  if (*hc) {
    auto h = healthcheck(**hc);
    if (!h) return h.error();
    s.healthcheck = std::move(*h);
  }
  auto rm = f.boolean("auto_remove");
  if (!rm) return rm.error();
  s.auto_remove = rm->value_or(false);
  auto ro = f.boolean("read_only");
  if (!ro) return ro.error();
  s.read_only = ro->value_or(false);
  auto volumes = f.strings("volumes");
  if (!volumes) return volumes.error();
  for (const auto& v : *volumes) {
    auto m = parse_volume(v);
    if (!m) return f.bad("volumes", m.error().message());
    s.volumes.push_back(*m);
  }
  auto memory = f.integer("memory", 6 << 20, std::numeric_limits<std::int64_t>::max());
  if (!memory) return memory.error();
  s.memory_bytes = *memory;
  auto cpus = f.number("cpus");
  if (!cpus) return cpus.error();
  if (*cpus) {
    auto n = normalize_cpus(**cpus);
    if (!n) return f.bad("cpus", n.error().message());
    s.cpus = *n;
  }
  auto labels = f.object("labels");
  if (!labels) return labels.error();
  if (*labels) {
    for (const auto& [k, v] : **labels) {
      if (!v.is_string()) return f.bad("labels", fmt::format("'{}' must be a string", std::string_view(k)));
      s.labels.emplace_back(std::string(k), std::string(v.get_string()));
    }
  }
  if (auto done = f.finish(); !done) return done.error();
  return s;
}

json::object spec_json(const WorkloadSpec& s) {
  json::object o{{"image", s.image}};
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) o[key] = v;
  };
  auto put_list = [&](const char* key, const std::vector<std::string>& v) {
    if (v.empty()) return;
    json::array a;
    for (const auto& x : v) a.emplace_back(x);
    o[key] = std::move(a);
  };
  put("id", s.name);
  put("hostname", s.hostname);
  put("user", s.user);
  put("workdir", s.working_dir);
  put("network", s.network);
  put_list("args", s.args);
  put_list("entrypoint", s.entrypoint);
  put_list("env", s.env);
  put_list("cap_add", s.cap_add);
  put_list("cap_drop", s.cap_drop);
  if (s.restart.kind != RestartPolicy::Kind::No) o["restart"] = to_string(s.restart);
  if (!s.ports.empty()) {
    // Docker's -p text, in order: it says a range, a protocol and an IPv6 host address whole.
    json::array a;
    for (const auto& p : s.ports) {
      std::string text;
      if (p.host_address)
        text = p.host_address->is_v6() ? fmt::format("[{}]:", p.host_address->to_string()) : p.host_address->to_string() + ":";
      text += p.count == 1 ? fmt::format("{}:{}", p.host_port, p.container_port)
                           : fmt::format("{}-{}:{}-{}", p.host_port, p.host_port + p.count - 1, p.container_port,
                                         p.container_port + p.count - 1);
      text += "/" + std::string(net::protocol_name(p.protocol));
      a.emplace_back(text);
    }
    o["publish"] = std::move(a);
  }
  const auto& h = s.healthcheck;
  if (h.kind != HealthCheck::Kind::None) {
    static constexpr const char* kKinds[] = {"none", "exec", "http", "tcp"};
    json::object hc{{"type", kKinds[static_cast<int>(h.kind)]},
                    {"interval", format_duration(h.interval)},
                    {"timeout", format_duration(h.timeout)},
                    {"start_period", format_duration(h.start_period)},
                    {"retries", h.retries}};
    if (!h.command.empty()) {
      json::array a;
      for (const auto& x : h.command) a.emplace_back(x);
      hc["command"] = std::move(a);
    }
    if (!h.url.empty()) hc["url"] = h.url;
    if (h.port) hc["port"] = h.port;
    o["healthcheck"] = std::move(hc);
  }
  if (s.auto_remove) o["auto_remove"] = true;
  if (s.read_only) o["read_only"] = true;
  if (!s.volumes.empty()) {
    json::array a;
    for (const auto& v : s.volumes)
      a.emplace_back(fmt::format("{}:{}{}", v.source.string(), v.destination.string(), v.read_only ? ":ro" : ""));
    o["volumes"] = std::move(a);
  }
  if (s.memory_bytes) o["memory"] = *s.memory_bytes;
  if (s.cpus) o["cpus"] = *s.cpus;
  if (!s.labels.empty()) {
    json::object l;
    for (const auto& [k, v] : s.labels) l[k] = v;
    o["labels"] = std::move(l);
  }
  return o;
}

Result<RunRequest> parse_run_request(std::string_view body) {
  auto o = JsonFields::parse_body(body);
  if (!o) return o.error();
  // `stream` and nyxd's registry credentials belong to the request, not the spec.
  RunRequest r;
  json::object spec = *o;
  if (const auto* s = spec.if_contains("stream")) {
    if (!s->is_bool()) return make_error(Errc::invalid_argument, "field 'stream' must be true or false");
    r.stream = s->get_bool();
    spec.erase("stream");
  }
  auto parsed = spec_from_json(spec);
  if (!parsed) return parsed.error();
  r.spec = std::move(*parsed);
  return r;
}

std::string spec_to_json(const WorkloadSpec& spec) { return json::serialize(spec_json(spec)); }

}  // namespace berth::runtime::daemon
