// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// A container's /etc/hostname, /etc/hosts and /etc/resolv.conf, as Docker
/// makes them (the hostname is the run's): files of the container's own directory bind-mounted over the
/// image's, so the image is never changed and a network may rewrite them
/// while the container runs.
namespace berth::runtime::container {

struct EtcFiles {
  std::vector<net::IpAddress> addresses;    ///< the container's own, named by its hostname in /etc/hosts
  std::vector<std::pair<std::string, net::IpAddress>> extra_hosts;  ///< Docker's --add-host NAME:ADDRESS
  /// The whole resolv.conf (a network's own DNS server); unset: the host's, as Docker derives it.
  std::optional<std::string> resolv_conf;
  bool ipv6 = false;  ///< the container has IPv6: the host's IPv6 nameservers stay
};

/// A hostname (RFC 1123: labels of letters, digits and '-', at most 253
/// characters); an error names what is wrong.
[[nodiscard]] core::Result<void> validate_hostname(std::string_view name);

/// The hostname of a container that names none: its id, made a valid label
/// ('_' and '.' become '-', at most 63 characters), as Docker takes the id's
/// first 12 characters.
[[nodiscard]] std::string default_hostname(std::string_view id);

/// /etc/hosts: localhost and Docker's IPv6 names, the container's addresses
/// with its hostname, then the extra hosts.
[[nodiscard]] std::string hosts_file(std::string_view hostname, const EtcFiles& files);

/// The container's resolv.conf from the host's, as Docker does it: the stub
/// of systemd-resolved (127.0.0.53 alone) replaced by its upstream file, the
/// host's loopback nameservers dropped (they are not reachable from the
/// container's namespace), IPv6 ones too without IPv6, and Google's public
/// servers when nothing is left; search and options kept.
[[nodiscard]] std::string resolv_conf_from_host(std::string_view host, std::string_view resolved_upstream, bool ipv6);

}  // namespace berth::runtime::container
