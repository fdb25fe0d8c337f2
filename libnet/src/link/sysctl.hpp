// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/unique_fd.hpp"

#include <string>
#include <string_view>

namespace berth::net {

/// Writes `value` to /proc/sys/<path> ("net/ipv4/conf/berth0/forwarding").
/// /proc/sys/net belongs to the network namespace of the calling thread.
[[nodiscard]] core::Result<void> write_sysctl(std::string_view path, std::string_view value);
/// True when /proc/sys/<path> exists (a knob this kernel may not have).
[[nodiscard]] bool sysctl_exists(std::string_view path);

/// A directory of /proc/sys held open, such as net/ipv6/conf of one network
/// namespace, to write knobs below it without looking up the path from
/// /proc/sys each time. Why: /proc/sys dentries of every network namespace
/// that ever touched a knob share their parents, so a lookup of
/// "net/ipv6/..." from the top walks a hash chain as long as the number of
/// such namespaces, which grows with the containers on the host.
class SysctlDir {
public:
  /// Opens /proc/sys/<path> in the calling thread's network namespace;
  /// a missing directory (no IPv6 in this kernel, say) is ENOENT.
  [[nodiscard]] static core::Result<SysctlDir> open(std::string_view path);
  /// Writes `value` to <path>/<relative>.
  [[nodiscard]] core::Result<void> write(std::string_view relative, std::string_view value) const;

private:
  SysctlDir(core::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  core::UniqueFd fd_;
  std::string path_;
};

}  // namespace berth::net
