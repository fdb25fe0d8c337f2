// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/health.hpp"

#include "berth/net/address.hpp"

#include <fmt/format.h>

#include <charconv>

namespace berth::runtime::daemon {

using core::Errc;
using core::make_error;
using core::Result;

std::string_view health_name(Health h) {
  switch (h) {
    case Health::None: return "";
    case Health::Starting: return "starting";
    case Health::Healthy: return "healthy";
    case Health::Unhealthy: return "unhealthy";
  }
  return "";
}

void record_probe(HealthStatus& status, const HealthCheck& check, ProbeResult result, std::int64_t started_ms) {
  if (result.output.size() > kMaxProbeOutput) result.output.resize(kMaxProbeOutput);
  const bool passed = result.exit_code == 0;
  // Docker: inside the start period a failure does not count, until the
  // first pass says the container has started.
  const bool in_start_period = result.start_ms - started_ms < check.start_period.count();
  if (passed) {
    status.status = Health::Healthy;
    status.failing_streak = 0;
    status.passed_once = true;
  } else if (!(in_start_period && !status.passed_once)) {
    ++status.failing_streak;
    if (status.failing_streak >= std::max(check.retries, 1U)) status.status = Health::Unhealthy;
  }
  status.log.push_back(std::move(result));
  while (status.log.size() > kProbeLogSize) status.log.pop_front();
}

Result<HealthUrl> parse_health_url(std::string_view url) {
  const std::string what = fmt::format("health check URL '{}'", url);
  std::string_view rest = url;
  if (rest.starts_with("https://")) return make_error(Errc::invalid_argument, fmt::format("{}: https is not supported", what));
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  else if (!rest.starts_with('/') && !rest.starts_with(':'))
    return make_error(Errc::invalid_argument, fmt::format("{}: not http://HOST[:PORT]/PATH, :PORT/PATH or /PATH", what));
  HealthUrl out;
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  for (char c : out.path)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return make_error(Errc::invalid_argument, fmt::format("{}: the path has a space or control character", what));
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {  // [v6]:port
    auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error(Errc::invalid_argument, fmt::format("{}: no ']'", what));
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return make_error(Errc::invalid_argument, fmt::format("{}: bad port", what));
    port = after.empty() ? after : after.substr(1);
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!port.empty() || authority.ends_with(':')) {
    int p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return make_error(Errc::invalid_argument, fmt::format("{}: the port is not 1-65535", what));
    out.port = p;
  }
  if (host.empty() || host == "{address}") return out;
  if (host == "localhost") {
    out.host = "127.0.0.1";
    return out;
  }
  auto ip = net::parse_address(host);
  if (!ip)
    return make_error(Errc::invalid_argument,
                      fmt::format("{}: the host is not an IP address, localhost or {{address}} (a probe resolves no names)", what));
  out.host = ip->to_string();
  return out;
}

}  // namespace berth::runtime::daemon
