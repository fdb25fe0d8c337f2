// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <string_view>
#include <vector>

namespace berth::runtime {

/// The daemon's `--dns` setting.
enum class DnsMode { Auto, Embedded, Cni, Off };
/// The daemon's `--net-driver`.
enum class NetDriver { Native, Cni };

/// "auto", "embedded", "cni" or "off"; anything else is one error naming the choices.
[[nodiscard]] core::Result<DnsMode> parse_dns_mode(std::string_view text);
[[nodiscard]] std::string_view dns_mode_name(DnsMode mode);
/// "native" or "cni".
[[nodiscard]] core::Result<NetDriver> parse_net_driver(std::string_view text);

/// Whether a container gets berth's embedded DNS (and a resolv.conf pointing
/// at it). `network_internal` lists, for each network the container (compose
/// service) is attached to, whether it is `internal: true`.
///   auto:     native driver: always; CNI driver: only when every network is internal
///   embedded: always;  cni, off: never
[[nodiscard]] bool use_embedded_dns(DnsMode mode, NetDriver driver, const std::vector<bool>& network_internal);

}  // namespace berth::runtime
