// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/daemon/daemon_options.hpp"
#include "berth/runtime/daemon/routes.hpp"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

/// berthd: its base directory (taken under a lock, so two daemons never
/// share one), its image store and containers, and its control socket.
/// What it has to say goes to `on_event`; it never logs or touches signals.
namespace berth::runtime::daemon {

struct DaemonEvent {
  enum class Kind {
    Backend,    ///< the network backend opened: detail is its driver, fields the network
    Listening,  ///< detail: the socket
    Notice,     ///< what the workloads did on their own (restarts, re-adoption, releases)
    Warning,    ///< detail: what it is about
  };
  Kind kind;
  std::string message;
  std::string detail;
  std::vector<std::pair<std::string, std::string>> fields = {};
};

class Daemon {
public:
  /// Takes the base directory's lock (`Errc::conflict` when another berthd
  /// holds it), opens the stores under it, and listens on the socket
  /// (mode 0660, group `socket_group` when that group exists, else the
  /// process's own with a warning, as dockerd does) on `io`.
  [[nodiscard]] static core::Result<std::unique_ptr<Daemon>> start(boost::asio::io_context& io, DaemonOptions options,
                                                                  DaemonInfo info,
                                                                  std::function<void(const DaemonEvent&)> on_event);
  virtual ~Daemon() = default;
  /// Stops listening (the socket file goes); containers keep running.
  virtual void stop() = 0;
};

}  // namespace berth::runtime::daemon
