// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace berth::net::dns {

/// What a resolv.conf says.
struct ResolvConf {
  std::vector<IpAddress> nameservers;
  std::vector<std::string> search;
  std::vector<std::string> options;
  friend bool operator==(const ResolvConf&, const ResolvConf&) = default;
};

/// Parses resolv.conf text; unknown lines and bad addresses are skipped, as the libc resolver does.
[[nodiscard]] ResolvConf parse_resolv_conf(std::string_view text);

/// The upstream resolvers of the host: `path` (normally /etc/resolv.conf),
/// or systemd-resolved's upstream file when `path` lists only its stub
/// 127.0.0.53. `exclude` (the server's own addresses) never appears.
[[nodiscard]] core::Result<std::vector<IpAddress>> host_upstreams(
    const std::filesystem::path& path = "/etc/resolv.conf",
    const std::filesystem::path& resolved_upstream = "/run/systemd/resolve/resolv.conf",
    const std::vector<IpAddress>& exclude = {});

/// A container's resolv.conf: `nameserver <gateway>`, `search <domain> <extra...>`, options.
[[nodiscard]] std::string container_resolv_conf(const std::vector<IpAddress>& nameservers, std::string_view domain,
                                                const std::vector<std::string>& extra_search = {},
                                                const std::vector<std::string>& options = {"ndots:0"});

}  // namespace berth::net::dns
