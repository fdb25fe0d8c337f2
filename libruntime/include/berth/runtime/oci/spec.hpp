// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/image/manifest.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// A container's OCI runtime bundle: its config.json (runtime-spec 1.0)
/// made from the image's config and the run's options, as Docker makes it:
/// Docker's default capabilities, masked and read-only paths, the default
/// seccomp profile (Debian's /usr/share/containers/seccomp.json, the one
/// podman uses), the usual mounts. Pure: everything it reads is passed in,
/// so its output is tested against golden files.
namespace berth::runtime::oci {

struct BindMount {
  std::filesystem::path source;
  std::filesystem::path destination;
  bool read_only = false;
  friend bool operator==(const BindMount&, const BindMount&) = default;
};

struct Rlimit {
  std::string type = "RLIMIT_NOFILE";
  std::uint64_t soft = 1048576, hard = 1048576;
};

/// What `run` asks for on top of the image.
struct RunOptions {
  std::vector<std::string> entrypoint;  ///< replaces the image's (and then drops its Cmd, as Docker does)
  std::vector<std::string> command;     ///< replaces the image's Cmd
  std::vector<std::string> env;         ///< KEY=VALUE, over the image's
  std::string user;                     ///< replaces the image's User
  std::string working_dir;              ///< replaces the image's WorkingDir
  std::string hostname;
  /// The network namespace to join (a path); empty: a new one of its own.
  std::filesystem::path netns;
  bool read_only = false;  ///< the root file system
  bool terminal = false;
  std::vector<std::string> cap_add, cap_drop;  ///< "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL" drops every one
  std::vector<BindMount> mounts;               ///< resolv.conf, hosts, hostname, volumes
  std::optional<std::int64_t> memory_bytes;
  std::optional<double> cpus;  ///< 1.5: one and a half CPUs of time
  std::optional<std::int64_t> pids_limit;
  /// Empty: the container layer gives RLIMIT_NOFILE as high as the host allows (up to 1048576).
  std::vector<Rlimit> rlimits;
  /// Docker's seccomp profile as text; empty: no seccomp filter.
  std::string seccomp_profile;
  std::vector<std::pair<std::string, std::string>> annotations;
  /// linux.cgroupsPath ("/berth-1a2b3c4d/web"); empty: the runtime's default (a cgroup named by the id).
  std::string cgroups_path;
};

/// What the spec is made for: the image, where its root file system is, and
/// the host facts the profile's conditions depend on.
struct SpecInput {
  image::ImageConfig image;
  std::filesystem::path rootfs;
  std::string passwd;  ///< the image's /etc/passwd ("" when it has none)
  std::string group;   ///< the image's /etc/group
  std::string architecture = "amd64";
  std::string kernel_release;  ///< "6.18.44": for the profile's minKernel conditions
};

/// A user as the process runs: uid, gid and supplementary groups.
struct ResolvedUser {
  std::uint32_t uid = 0, gid = 0;
  std::vector<std::uint32_t> additional_gids;
  std::string home = "/";
  friend bool operator==(const ResolvedUser&, const ResolvedUser&) = default;
};

/// Resolves a Docker `User` ("", "app", "101", "app:staff", "101:0") through
/// the image's own /etc/passwd and /etc/group, as Docker does: a name must
/// be in them, a number need not be; the primary group comes from passwd
/// unless given; supplementary groups are the groups that list the user.
[[nodiscard]] core::Result<ResolvedUser> resolve_user(std::string_view user, std::string_view passwd,
                                                      std::string_view group);

/// Docker's default capability set (without the "CAP_" prefix).
[[nodiscard]] const std::vector<std::string>& default_capabilities();

/// The capabilities after `add` and `drop` (each checked against the
/// kernel's names; "ALL" allowed in both), sorted, with "CAP_".
[[nodiscard]] core::Result<std::vector<std::string>> capabilities(const std::vector<std::string>& add,
                                                                  const std::vector<std::string>& drop);

/// Docker's seccomp profile turned into the runtime-spec's `linux.seccomp`
/// for one architecture and a set of capabilities (the profile's
/// includes/excludes conditions decided here). Untrusted input: checked.
[[nodiscard]] core::Result<std::string> seccomp_for(std::string_view profile, std::string_view architecture,
                                                    const std::vector<std::string>& caps, std::string_view kernel_release);

/// The whole config.json.
[[nodiscard]] core::Result<std::string> render_spec(const SpecInput& input, const RunOptions& options);

}  // namespace berth::runtime::oci
