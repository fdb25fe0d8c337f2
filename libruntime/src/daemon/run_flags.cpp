// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/run_flags.hpp"

#include "berth/runtime/daemon/client.hpp"
#include "berth/runtime/daemon/daemon_options.hpp"
#include "berth/runtime/daemon/health.hpp"
#include "berth/runtime/daemon/run_request.hpp"

#include <fmt/format.h>

namespace berth::runtime::daemon {

using core::Errc;
using core::make_error;
using core::Result;

namespace {

Result<HealthCheck> health_from_flags(const RunFlags& f) {
  const int kinds = (f.health_cmd ? 1 : 0) + (f.health_http ? 1 : 0) + (f.health_tcp ? 1 : 0);
  const bool tuned = f.health_interval || f.health_timeout || f.health_start_period || f.health_retries;
  if (f.no_healthcheck) {
    if (kinds || tuned) return make_error(Errc::invalid_argument, "--no-healthcheck: conflicts with the other --health flags");
    return HealthCheck{};
  }
  if (kinds > 1)
    return make_error(Errc::invalid_argument, "--health-cmd, --health-http and --health-tcp: give one of them");
  if (kinds == 0) {
    if (tuned) return make_error(Errc::invalid_argument, "--health-interval and the like: need --health-cmd, --health-http or --health-tcp");
    return HealthCheck{};
  }
  HealthCheck h;
  if (f.health_cmd) {
    if (f.health_cmd->empty()) return make_error(Errc::invalid_argument, "--health-cmd: empty");
    h.kind = HealthCheck::Kind::Exec;
    h.command = {"/bin/sh", "-c", *f.health_cmd};  // Docker's CMD-SHELL
  } else if (f.health_http) {
    if (auto u = parse_health_url(*f.health_http); !u) return std::move(u).error().wrap("--health-http");
    h.kind = HealthCheck::Kind::Http;
    h.url = *f.health_http;
  } else {
    if (*f.health_tcp < 1 || *f.health_tcp > 65535)
      return make_error(Errc::invalid_argument, "--health-tcp: the port is not 1-65535");
    h.kind = HealthCheck::Kind::Tcp;
    h.port = *f.health_tcp;
  }
  struct Duration {
    const char* flag;
    const std::optional<std::string>* text;
    std::chrono::milliseconds* out;
    bool zero_ok;
  };
  for (auto [flag, text, out, zero_ok] :
       {Duration{"--health-interval", &f.health_interval, &h.interval, false},
        Duration{"--health-timeout", &f.health_timeout, &h.timeout, false},
        Duration{"--health-start-period", &f.health_start_period, &h.start_period, true}}) {
    if (!*text) continue;
    auto d = parse_duration(**text);
    if (!d) return std::move(d).error().wrap(flag);
    if (d->count() <= 0 && !zero_ok) return make_error(Errc::invalid_argument, fmt::format("{}: must be longer than 0", flag));
    *out = *d;
  }
  if (f.health_retries) {
    if (*f.health_retries > 1000) return make_error(Errc::invalid_argument, "--health-retries: at most 1000");
    h.retries = *f.health_retries;
  }
  return h;
}

}  // namespace

Result<WorkloadSpec> spec_from_flags(const RunFlags& f, const RunFlagSources& sources) {
  if (f.interactive || f.tty)
    return make_error(Errc::invalid_argument,
                      "-i and -t are not supported yet: berth's monitor gives a container no stdin or terminal");
  WorkloadSpec s;
  s.image = f.image;
  s.args = f.command;
  s.name = f.name;
  s.hostname = f.hostname;
  s.user = f.user;
  s.working_dir = f.workdir;
  s.network = f.network;
  if (f.entrypoint) s.entrypoint = {*f.entrypoint};
  s.read_only = f.read_only;
  s.cap_add = f.cap_add;
  s.cap_drop = f.cap_drop;
  for (const auto& file : f.env_files) {
    const std::string what = fmt::format("--env-file '{}'", file);
    auto content = sources.read_file(file);
    if (!content) return std::move(content).error().wrap(what);
    auto env = parse_env_file(*content, sources.env);
    if (!env) return std::move(env).error().wrap(what);
    s.env.insert(s.env.end(), env->begin(), env->end());
  }
  for (const auto& e : f.env) {
    if (e.empty() || e.front() == '=') return make_error(Errc::invalid_argument, fmt::format("--env '{}': no name", e));
    // -e KEY alone takes KEY from the client's environment, as Docker does.
    if (e.find('=') == std::string::npos) {
      if (auto v = sources.env(e)) s.env.push_back(e + "=" + *v);
    } else {
      s.env.push_back(e);
    }
  }
  for (const auto& p : f.publish) {
    auto m = net::parse_port_mapping(p);
    if (!m) return std::move(m).error().wrap("--publish");
    s.ports.push_back(*m);
  }
  for (const auto& v : f.volumes) {
    auto m = parse_volume(v);
    if (!m) return std::move(m).error().wrap("--volume");
    s.volumes.push_back(*m);
  }
  auto restart = parse_restart_policy(f.restart);
  if (!restart) return std::move(restart).error().wrap("--restart");
  s.restart = *restart;
  if (f.memory) {
    auto bytes = parse_size(*f.memory);
    if (!bytes) return std::move(bytes).error().wrap("--memory");
    s.memory_bytes = *bytes;
  }
  if (f.cpus) {
    auto n = normalize_cpus(*f.cpus);
    if (!n) return std::move(n).error().wrap("--cpus");
    s.cpus = *n;
  }
  for (const auto& l : f.labels) {
    auto eq = l.find('=');
    if (eq == 0 || l.empty()) return make_error(Errc::invalid_argument, fmt::format("--label '{}': no name", l));
    s.labels.emplace_back(l.substr(0, eq), eq == std::string::npos ? "" : l.substr(eq + 1));
  }
  auto health = health_from_flags(f);
  if (!health) return health.error();
  s.healthcheck = *health;
  s.auto_remove = f.auto_remove && f.detach;
  return s;
}

}  // namespace berth::runtime::daemon
