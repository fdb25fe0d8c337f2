// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/daemon/workload.hpp"
#include "berth/runtime/daemon/workloads.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// berthctl's side of the control API: one call per endpoint over the unix
/// socket, answers parsed into plain structs, and an error answer turned back
/// into the daemon's error (its code and message, so "no such container
/// 'web'" reaches the user as the daemon said it).
namespace berth::runtime::daemon {

inline constexpr std::string_view kDefaultSocket = "/run/berth/berthd.sock";

/// The socket to use: `-H` when given, else BERTH_HOST, else the default;
/// either as a path or as unix:///path. Anything else (tcp://) is an error.
[[nodiscard]] core::Result<std::filesystem::path> resolve_host(std::string_view flag, std::string_view env);

/// A container as `ps` and inspect show it.
struct ContainerInfo {
  std::string id;
  std::string image;
  std::string status;  ///< created, running, stopped, restarting
  std::optional<int> exit_code;
  std::optional<std::int64_t> pid;
  std::string health;
  std::string ip;
  std::vector<std::string> ports;
  unsigned restarts = 0;
  std::int64_t created = 0;
  std::string json;  ///< the daemon's whole document, for --json
};

struct ImageInfo {
  std::string name;
  std::string digest;
  std::int64_t size = 0;
};

class Client {
public:
  explicit Client(std::filesystem::path socket) : socket_(std::move(socket)) {}

  [[nodiscard]] core::Result<void> ping() const;
  /// The version document, as JSON text.
  [[nodiscard]] core::Result<std::string> version() const;
  [[nodiscard]] core::Result<std::vector<ContainerInfo>> list() const;
  [[nodiscard]] core::Result<ContainerInfo> inspect(const std::string& id) const;
  /// Runs a container; `on_event` sees the pull's progress. Its id.
  [[nodiscard]] core::Result<std::string> run(const WorkloadSpec& spec,
                                              const std::function<void(const RunEvent&)>& on_event) const;
  [[nodiscard]] core::Result<int> stop(const std::string& id, std::optional<int> grace_seconds) const;
  [[nodiscard]] core::Result<void> kill(const std::string& id, const std::string& signal) const;
  [[nodiscard]] core::Result<void> remove(const std::string& id, bool force) const;
  [[nodiscard]] core::Result<int> wait(const std::string& id) const;
  /// Runs `cmd` in a running container, no stdin; what it printed and its exit code.
  [[nodiscard]] core::Result<container::ExecResult> exec(const std::string& id, const std::vector<std::string>& cmd,
                                                         std::optional<std::chrono::milliseconds> timeout) const;
  /// Its log, entry by entry (`stream` is stdout or stderr); with `follow`
  /// until it ends or `on_entry` returns false.
  [[nodiscard]] core::Result<void> logs(
      const std::string& id, std::optional<std::size_t> tail, bool follow,
      const std::function<bool(std::string_view stream, std::string_view text)>& on_entry) const;
  [[nodiscard]] core::Result<std::string> pull(const std::string& ref,
                                               const std::function<void(const RunEvent&)>& on_event) const;
  [[nodiscard]] core::Result<std::vector<std::string>> load(const std::filesystem::path& path,
                                                            const std::string& name) const;
  [[nodiscard]] core::Result<std::vector<ImageInfo>> images() const;
  [[nodiscard]] core::Result<void> remove_image(const std::string& ref, bool force) const;

private:
  std::filesystem::path socket_;
};

/// `berthctl ps`: NAME, IMAGE, STATUS, IP, PORTS in aligned columns.
[[nodiscard]] std::string render_ps(const std::vector<ContainerInfo>& containers);
/// `berthctl images`: NAME, DIGEST (short), SIZE.
[[nodiscard]] std::string render_images(const std::vector<ImageInfo>& images);
/// "running", "exited (3)", "restarting", with " (healthy)" when it has a health check.
[[nodiscard]] std::string status_text(const ContainerInfo& c);

/// A pull's progress for a person: on a terminal, a bar per layer redrawn
/// in place; otherwise one plain line per step (a log reads well).
class PullDisplay {
public:
  explicit PullDisplay(bool terminal) : terminal_(terminal) {}
  /// What to write for `event` (often nothing).
  [[nodiscard]] std::string update(const RunEvent& event);

private:
  struct Layer {
    std::string digest;
    std::int64_t current = 0, total = 0;
    bool said_done = false;
  };
  [[nodiscard]] std::string bars() const;
  bool terminal_;
  std::vector<Layer> layers_;
  std::size_t drawn_ = 0;  ///< lines of bars on the screen
};

/// Docker's `--env-file`: KEY=VALUE lines, '#' comments and blank lines
/// skipped, a KEY alone taken from `lookup` (skipped when it has none).
/// Values are literal (no quotes, no expansion). Errors name the line.
/// Untrusted input: fuzzed.
[[nodiscard]] core::Result<std::vector<std::string>> parse_env_file(
    std::string_view text, const std::function<std::optional<std::string>(const std::string&)>& lookup);

}  // namespace berth::runtime::daemon
