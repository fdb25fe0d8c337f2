// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/runtime/container/etc_files.hpp"
#include "berth/runtime/container/monitor.hpp"
#include "berth/runtime/image/store.hpp"
#include "berth/runtime/oci/spec.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

/// OCI containers from the image store: each with an overlay root file
/// system (the image's layers below, its own upper directory), a bundle, and
/// from its start a monitor (berth-monitor, monitor.hpp) that runs it with
/// the OCI runtime's command line (runc, or crun where the host has cgroup
/// v2 only), holds its stdio, writes its log and records its exit code, so a
/// container outlives the process that started it. Records live under the
/// base directory: a new process finds every container with its true state.
namespace berth::runtime::container {

enum class Status { Created, Running, Stopped };
[[nodiscard]] std::string_view status_name(Status s);

struct ContainerState {
  std::string id;
  std::string image;  ///< the image's name when it was created
  Status status = Status::Stopped;
  std::optional<pid_t> pid;        ///< of its first process, while it runs
  std::optional<int> exit_code;    ///< once stopped: its status, 128 + the signal that ended it
  std::string stop_signal;         ///< what `stop` sends first ("SIGTERM" unless the image says)
  std::filesystem::path log;       ///< its output, JSON lines as Docker's json-file driver writes them
  std::filesystem::path rootfs;
  std::filesystem::path image_store;  ///< the store whose layers it stands on (and holds)
  std::int64_t created = 0;        ///< Unix seconds
};

/// What an exec'd command did.
struct ExecResult {
  int exit_code = 0;  ///< its status, 128 + the signal that ended it
  std::string out, err;
};

struct CreateOptions {
  std::string id;     ///< a plain name (validate_container_id)
  std::string image;  ///< a name in the store
  oci::RunOptions run;  ///< an empty hostname: made from the id
  EtcFiles etc;         ///< /etc/hosts and /etc/resolv.conf, unless `run.mounts` has its own
};

struct RuntimeOptions {
  /// Records, bundles, root file systems: `<base>/containers/<id>/`.
  std::filesystem::path base = "/var/lib/berth";
  /// The OCI runtime's state (`--root`); tmpfs, gone at reboot as the containers are.
  std::filesystem::path state = "/run/berth/runc";
  /// "runc", "crun", or "" for crun on a cgroup v2 host and runc otherwise.
  std::string runtime;
  /// berth-monitor; empty: found as find_monitor() does.
  std::filesystem::path monitor;
  /// A container's log is rotated past this many bytes (0: never), keeping this many files.
  std::int64_t log_max_size = 0;
  unsigned log_max_files = 1;
  /// Where a container's resolv.conf comes from when its network gives none.
  std::filesystem::path host_resolv_conf = "/etc/resolv.conf";
  std::filesystem::path resolved_upstream = "/run/systemd/resolve/resolv.conf";
  /// Docker's seccomp profile; empty: none.
  std::filesystem::path seccomp_profile = "/usr/share/containers/seccomp.json";
};

/// The OCI runtime this host wants: crun where cgroup v2 is mounted alone
/// (it refuses hybrid hosts), runc otherwise.
[[nodiscard]] std::string default_runtime();

/// The containers of one base directory. Each call is one operation on the
/// records and the runtime; several processes may use the same base, and
/// several threads one object (it holds only its options: each call works
/// on one container's files, start under that container's lock). berthd's
/// workloads still take one call per container at a time.
class Containers {
public:
  [[nodiscard]] static core::Result<Containers> open(RuntimeOptions options);

  /// Mounts the root file system and writes the bundle and the record, as
  /// Docker's create: nothing runs until start. Nothing stays when a step fails.
  [[nodiscard]] core::Result<ContainerState> create(const image::Store& images, const CreateOptions& options);
  /// Runs it under its monitor; returns once it runs. A stopped container
  /// starts again (its root file system kept); a start that fails leaves it created.
  [[nodiscard]] core::Result<void> start(const std::string& id);
  [[nodiscard]] core::Result<ContainerState> state(const std::string& id) const;
  [[nodiscard]] core::Result<std::vector<ContainerState>> list() const;
  /// Waits until the container has stopped (a created one: started and
  /// stopped); its exit code. A timeout of 0 waits for ever.
  [[nodiscard]] core::Result<int> wait(const std::string& id, std::chrono::milliseconds timeout = {}) const;
  /// A descriptor that becomes readable (poll, epoll) once the running
  /// container has ended and its exit code is written: a pidfd of its
  /// monitor. Invalid when it does not run. For a daemon that watches many
  /// containers from one thread instead of a wait() each.
  [[nodiscard]] core::UniqueFd exit_fd(const std::string& id) const;
  /// Sends a signal ("SIGHUP", "9") to the container's first process; one
  /// that is not running is `Errc::conflict`.
  [[nodiscard]] core::Result<void> kill(const std::string& id, std::string_view signal);
  /// The stop signal, `grace` to end, then SIGKILL; the exit code (a
  /// created container has nothing to stop: 0; one whose monitor died
  /// without writing its status, killed or before a reboot: 255, as Docker
  /// reports a container it lost).
  [[nodiscard]] core::Result<int> stop(const std::string& id, std::chrono::milliseconds grace = std::chrono::seconds(10));
  /// Runs `argv` in the running container (`runc exec`) as its own process
  /// runs: its user, environment and working directory; stdin empty.
  /// Past `timeout` the runtime's exec is killed and `Errc::timed_out`
  /// returned (as Docker, a process it started may live on). One that is
  /// not running is `Errc::conflict`; a program that is not there, the
  /// runtime's reason and exit code 126/127 as a shell has it.
  [[nodiscard]] core::Result<ExecResult> exec(const std::string& id, const std::vector<std::string>& argv,
                                              std::chrono::milliseconds timeout) const;
  /// Frees what the OCI runtime keeps of a stopped container's last run
  /// (its state and cgroups: `runc delete`), so that a later start or
  /// remove has no runtime process to wait for; nothing to free is fine, a
  /// running one is `Errc::conflict`. A daemon calls it once a container
  /// has ended, while the one who waited for the exit goes on.
  [[nodiscard]] core::Result<void> release_runtime(const std::string& id) const;
  /// What a create cut short by a crash left: a container directory with
  /// no record (its root file system unmounted and removed), and the layer
  /// hold in `images` of an id that has no container. The ids it cleared.
  [[nodiscard]] core::Result<std::vector<std::string>> remove_leftovers(const image::Store& images) const;
  /// Deletes a stopped (or created) container: the runtime's state, the
  /// root file system, the record. A running one is `Errc::conflict`.
  [[nodiscard]] core::Result<void> remove(const std::string& id);

private:
  explicit Containers(RuntimeOptions o) : o_(std::move(o)) {}
  [[nodiscard]] std::filesystem::path dir(const std::string& id) const { return o_.base / "containers" / id; }
  [[nodiscard]] core::Result<std::string> runtime(std::vector<std::string> args) const;
  [[nodiscard]] core::Result<void> write_etc_files(const std::filesystem::path& etc, oci::RunOptions& run,
                                                   const CreateOptions& options) const;
  RuntimeOptions o_;
  std::string runtime_path_;
  std::filesystem::path monitor_path_;
};

/// "SIGQUIT", "QUIT", "3" -> 3; an error names what is not a signal.
[[nodiscard]] core::Result<int> parse_signal(std::string_view text);

}  // namespace berth::runtime::container
