// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/binaries.hpp"

#include "berth/core/process.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <system_error>

#include <unistd.h>

namespace berth::instance {

const std::vector<std::string>& docker_binary_names() {
  static const std::vector<std::string> names{"dockerd",     "containerd",  "containerd-shim-runc-v2",
                                              "runc",        "docker-init", "docker-proxy"};
  return names;
}

const std::vector<std::filesystem::path>& default_binary_dirs() {
  static const std::vector<std::filesystem::path> dirs{"/usr/sbin", "/usr/bin", "/usr/libexec/docker"};
  return dirs;
}

core::Result<std::map<std::string, std::filesystem::path>> find_docker_binaries(
    const std::vector<std::filesystem::path>& dirs) {
  std::map<std::string, std::filesystem::path> found;
  for (const auto& name : docker_binary_names()) {
    for (const auto& dir : dirs) {
      const auto candidate = dir / name;
      if (::access(candidate.c_str(), X_OK) == 0) {
        found[name] = candidate;
        break;
      }
    }
    if (!found.count(name)) {
      std::string searched;
      for (const auto& d : dirs) searched += (searched.empty() ? "" : ", ") + d.string();
      return core::make_error(core::Errc::not_found,
                              fmt::format("'{}' is in none of {} (install docker.io or pass --docker-bin-dir)", name,
                                          searched));
    }
  }
  return found;
}

core::Result<std::filesystem::path> find_firewall_program(const std::filesystem::path& explicit_path) {
  if (!explicit_path.empty()) {
    if (::access(explicit_path.c_str(), X_OK) != 0) return core::errno_error(errno, explicit_path.string());
    return explicit_path;
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto beside = self.parent_path() / "berth-firewall";
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  auto found = core::find_program("berth-firewall");
  if (!found)
    return core::make_error(core::Errc::not_found,
                            "berth-firewall is neither next to this program nor in PATH (install berth with it)");
  return found;
}

core::Result<void> install_binaries(const std::map<std::string, std::filesystem::path>& binaries,
                                    const std::filesystem::path& bin_dir) {
  for (const auto& [name, source] : binaries) {
    const auto target = bin_dir / name;
    // A name of its own: concurrent creates install the shared sysbox binaries at once.
    const auto temp = bin_dir / fmt::format(".{}.{}.new", name, ::getpid());
    std::error_code ec;
    std::filesystem::copy_file(source, temp, std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) return core::make_error(ec, fmt::format("copy '{}' to '{}'", source.string(), temp.string()));
    std::filesystem::permissions(temp, std::filesystem::perms(0755), ec);
    if (!ec) std::filesystem::rename(temp, target, ec);
    if (ec) {
      std::filesystem::remove(temp);
      return core::make_error(ec, fmt::format("install '{}'", target.string()));
    }
  }
  return {};
}

}  // namespace berth::instance
