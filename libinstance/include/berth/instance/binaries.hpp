// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

/// Every instance owns a copy of the Docker binaries, so an upgrade of the
/// host's docker.io never changes a running instance and each can pin its own.
namespace berth::instance {

/// dockerd, containerd, containerd-shim-runc-v2, runc, docker-init, docker-proxy.
[[nodiscard]] const std::vector<std::string>& docker_binary_names();

/// Where docker.io installs them (/usr/sbin, /usr/bin, /usr/libexec/docker).
[[nodiscard]] const std::vector<std::filesystem::path>& default_binary_dirs();

/// Finds each binary in `dirs` (first match wins). A missing one is an error
/// naming it and the directories searched.
[[nodiscard]] core::Result<std::map<std::string, std::filesystem::path>> find_docker_binaries(
    const std::vector<std::filesystem::path>& dirs);

/// berth-firewall, which an instance's unit runs to apply its nftables table:
/// `explicit_path` if given, else next to the running program (dockyard and
/// berth-firewall are installed together), else in PATH.
[[nodiscard]] core::Result<std::filesystem::path> find_firewall_program(const std::filesystem::path& explicit_path = {});

/// Copies the binaries into `bin_dir` (mode 0755), each through a temp file
/// and a rename, so a running copy is never overwritten in place.
[[nodiscard]] core::Result<void> install_binaries(const std::map<std::string, std::filesystem::path>& binaries,
                                                  const std::filesystem::path& bin_dir);

}  // namespace berth::instance
