// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/policy.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace berth::runtime {

core::Result<DnsMode> parse_dns_mode(std::string_view text) {
  if (text == "auto") return DnsMode::Auto;
  if (text == "embedded") return DnsMode::Embedded;
  if (text == "cni") return DnsMode::Cni;
  if (text == "off") return DnsMode::Off;
  return core::make_error(core::Errc::invalid_argument,
                          fmt::format("unknown DNS mode '{}' (expected auto, embedded, cni or off)", text));
}

std::string_view dns_mode_name(DnsMode mode) {
  switch (mode) {
    case DnsMode::Auto: return "auto";
    case DnsMode::Embedded: return "embedded";
    case DnsMode::Cni: return "cni";
    case DnsMode::Off: return "off";
  }
  return "auto";
}

core::Result<NetDriver> parse_net_driver(std::string_view text) {
  if (text == "native") return NetDriver::Native;
  if (text == "cni") return NetDriver::Cni;
  return core::make_error(core::Errc::invalid_argument,
                          fmt::format("unknown network driver '{}' (expected native or cni)", text));
}

bool use_embedded_dns(DnsMode mode, NetDriver driver, const std::vector<bool>& network_internal) {
  switch (mode) {
    case DnsMode::Embedded: return true;
    case DnsMode::Cni:
    case DnsMode::Off: return false;
    case DnsMode::Auto:
      if (driver == NetDriver::Native) return true;
      return !network_internal.empty() &&
             std::all_of(network_internal.begin(), network_internal.end(), [](bool b) { return b; });
  }
  return false;
}

}  // namespace berth::runtime
