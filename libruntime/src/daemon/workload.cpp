// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/workload.hpp"

#include "json_fields.hpp"
#include "spec_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace berth::runtime::daemon {

using core::Errc;
using core::make_error;
using core::Result;
namespace json = boost::json;

Result<double> normalize_cpus(double cpus) {
  // Boost.JSON 1.81 reads some doubles back one unit in the last place off
  // (a fuzzer found 1.276033439639582e-42): rounding absorbs that, and the
  // range keeps such values out in any case.
  if (!(cpus >= 0.01 && cpus <= 1024.0))
    return core::make_error(core::Errc::invalid_argument, "must be from 0.01 to 1024");
  return std::round(cpus * 1e9) / 1e9;
}

Result<RestartPolicy> parse_restart_policy(std::string_view text) {
  RestartPolicy p;
  if (text.empty() || text == "no" || text == "never") return p;
  if (text == "always") return RestartPolicy{RestartPolicy::Kind::Always, 0};
  if (text == "unless-stopped") return RestartPolicy{RestartPolicy::Kind::UnlessStopped, 0};
  if (text.starts_with("on-failure")) {
    std::string_view rest = text.substr(10);
    p.kind = RestartPolicy::Kind::OnFailure;
    if (rest.empty()) return p;
    if (rest.front() == ':') {
      rest.remove_prefix(1);
      unsigned n = 0;
      auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
      if (ec == std::errc() && end == rest.data() + rest.size() && !rest.empty() && n <= 1'000'000) {
        p.max_retries = n;
        return p;
      }
    }
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("restart policy '{}' is not no, on-failure[:N], always or unless-stopped", text));
}

std::string to_string(const RestartPolicy& p) {
  switch (p.kind) {
    case RestartPolicy::Kind::No: return "no";
    case RestartPolicy::Kind::Always: return "always";
    case RestartPolicy::Kind::UnlessStopped: return "unless-stopped";
    case RestartPolicy::Kind::OnFailure:
      return p.max_retries ? fmt::format("on-failure:{}", p.max_retries) : std::string("on-failure");
  }
  return "no";
}

bool should_restart(const RestartPolicy& p, int exit_code, unsigned restarts, bool stopped_by_user) {
  if (stopped_by_user) return false;
  switch (p.kind) {
    case RestartPolicy::Kind::No: return false;
    case RestartPolicy::Kind::Always:
    case RestartPolicy::Kind::UnlessStopped: return true;
    case RestartPolicy::Kind::OnFailure: return exit_code != 0 && (p.max_retries == 0 || restarts < p.max_retries);
  }
  return false;
}

std::chrono::milliseconds restart_delay(unsigned restarts_in_a_row) {
  constexpr std::int64_t kFirst = 100, kMost = 60'000;
  std::int64_t d = kFirst;
  for (unsigned i = 0; i < restarts_in_a_row && d < kMost; ++i) d *= 2;
  return std::chrono::milliseconds(std::min(d, kMost));
}

std::string record_to_json(const WorkloadRecord& r) {
  json::object o{{"spec", spec_json(r.spec)},
                 {"network", r.network},
                 {"restarts", r.restarts},
                 {"stopped_by_user", r.stopped_by_user},
                 {"started_at", r.started_at}};
  return json::serialize(o);
}

Result<WorkloadRecord> record_from_json(std::string_view text) {
  auto o = JsonFields::parse_body(text);
  if (!o) return o.error();
  JsonFields f(*o);
  WorkloadRecord r;
  auto spec = f.object("spec");
  if (!spec) return spec.error();
  if (!*spec) return f.bad("spec", "is missing");
  auto s = spec_from_json(**spec);
  if (!s) return s.error();
  r.spec = std::move(*s);
  auto network = f.string("network");
  if (!network) return network.error();
  r.network = network->value_or("");
  auto restarts = f.integer("restarts", 0, 1'000'000'000);
  if (!restarts) return restarts.error();
  r.restarts = static_cast<unsigned>(restarts->value_or(0));
  auto by_user = f.boolean("stopped_by_user");
  if (!by_user) return by_user.error();
  r.stopped_by_user = by_user->value_or(false);
  auto started = f.integer("started_at", 0, std::int64_t{1} << 60);
  if (!started) return started.error();
  r.started_at = started->value_or(0);
  if (auto done = f.finish(); !done) return done.error();
  return r;
}

}  // namespace berth::runtime::daemon
