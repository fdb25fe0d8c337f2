// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/daemon_options.hpp"

#include "berth/core/names.hpp"

#include <fmt/format.h>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace berth::runtime::daemon {

using core::Errc;
using core::make_error;

namespace {

core::Result<std::filesystem::path> absolute_path(std::string_view flag, const std::string& value) {
  if (value.empty() || value.front() != '/')
    return make_error(Errc::invalid_argument, fmt::format("--{}: '{}' is not an absolute path", flag, value));
  return std::filesystem::path(value).lexically_normal();
}

}  // namespace

core::Result<std::int64_t> parse_size(std::string_view text) {
  std::int64_t n = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (n > (std::int64_t{1} << 50)) return make_error(Errc::invalid_argument, fmt::format("size '{}' is too large", text));
    n = n * 10 + (text[i] - '0');
  }
  std::string_view unit = text.substr(i);
  std::int64_t scale = 0;
  if (unit.empty() || unit == "b") scale = 1;
  else if (unit == "k" || unit == "kb" || unit == "K") scale = 1024;
  else if (unit == "m" || unit == "mb" || unit == "M") scale = 1024 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "G") scale = 1024 * 1024 * 1024;
  if (i == 0 || scale == 0)
    return make_error(Errc::invalid_argument, fmt::format("size '{}' is not a number of bytes with k, m or g", text));
  return n * scale;
}

core::Result<DaemonOptions> daemon_options(const DaemonSettings& s, const std::map<std::string, std::string>& environment) {
  DaemonOptions o;
  auto driver = parse_net_driver(s.net_driver);
  if (!driver) return std::move(driver).error().wrap("--net-driver");
  o.net_driver = *driver;
  auto dns = parse_dns_mode(s.dns);
  if (!dns) return std::move(dns).error().wrap("--dns");
  o.dns = *dns;
  const std::pair<std::string_view, const std::string*> paths[] = {
      {"cni-bin-dir", &s.cni_bin_dir}, {"cni-conf-dir", &s.cni_conf_dir}, {"base-dir", &s.base_dir},
      {"socket", &s.socket},           {"exec-root", &s.exec_root}};
  std::filesystem::path* targets[] = {&o.cni_bin_dir, &o.cni_conf_dir, &o.base_dir, &o.socket, &o.exec_root};
  for (std::size_t i = 0; i < std::size(paths); ++i) {
    auto p = absolute_path(paths[i].first, *paths[i].second);
    if (!p) return p.error();
    *targets[i] = std::move(*p);
  }
  // A unix socket's path must fit sockaddr_un (108 bytes with its NUL).
  if (o.socket.string().size() > 107)
    return make_error(Errc::invalid_argument, fmt::format("--socket: '{}' is longer than a unix socket path may be (107)", s.socket));
  if (auto r = core::validate_container_id(s.network); !r)
    return make_error(Errc::invalid_argument, fmt::format("--network: '{}' is not a valid network name", s.network));
  o.network.name = s.network;
  auto network = net::apply_environment(o.network, environment);
  if (!network) return network.error();
  o.network = std::move(*network);
  if (!s.log_max_size.empty()) {
    auto size = parse_size(s.log_max_size);
    if (!size) return std::move(size).error().wrap("--log-max-size");
    o.log_max_size = *size;
  }
  if (s.log_max_files < 1 || s.log_max_files > 100)
    return make_error(Errc::invalid_argument, fmt::format("--log-max-files: {} is not from 1 to 100", s.log_max_files));
  o.log_max_files = s.log_max_files;
  o.stop_on_exit = s.stop_on_exit;
  if (s.socket_group.empty()) return make_error(Errc::invalid_argument, "--socket-group: empty");
  o.socket_group = s.socket_group;
  if (s.runtime != "auto" && s.runtime != "runc" && s.runtime != "crun")
    return make_error(Errc::invalid_argument, fmt::format("--runtime: '{}' is not one of runc, crun, auto", s.runtime));
  o.runtime = s.runtime == "auto" ? "" : s.runtime;
  return o;
}

core::Result<void> check_privileges() {
  if (::geteuid() == 0) return {};
  // capget: Debian's libcap is not linked for two bits of one syscall.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return core::errno_error(errno, "capget");
  auto has = [&](int cap) { return (data[cap / 32].effective & (1u << (cap % 32))) != 0; };
  std::string missing;
  for (auto [cap, name] : {std::pair{CAP_NET_ADMIN, "CAP_NET_ADMIN"}, std::pair{CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}})
    if (!has(cap)) missing += (missing.empty() ? "" : " and ") + std::string(name);
  if (missing.empty()) return {};
  return make_error(Errc::invalid_argument,
                    fmt::format("berthd needs root, or {} (it makes network namespaces, links and mounts); run it as "
                                "root or with sudo",
                                missing));
}

}  // namespace berth::runtime::daemon
