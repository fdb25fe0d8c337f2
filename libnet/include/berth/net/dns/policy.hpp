// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <string_view>
#include <vector>

namespace berth::net::dns {

/// The daemon's `--dns` setting.
enum class DnsMode { Auto, Embedded, Cni, Off };
/// The daemon's `--net-driver`.
enum class NetDriver { Native, Cni };

[[nodiscard]] core::Result<DnsMode> parse_dns_mode(std::string_view text);

/// Whether a container gets berth's embedded DNS (and a resolv.conf pointing
/// at it). `network_internal` lists, for each network the container (compose
/// service) is attached to, whether it is `internal: true`.
///   auto:     native driver: always; CNI driver: only when every network is internal
///   embedded: always;  cni, off: never
[[nodiscard]] bool use_embedded_dns(DnsMode mode, NetDriver driver, const std::vector<bool>& network_internal);

}  // namespace berth::net::dns
