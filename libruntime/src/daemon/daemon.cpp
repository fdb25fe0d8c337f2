// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/daemon.hpp"

#include "berth/core/fs.hpp"
#include "berth/core/http.hpp"
#include "berth/runtime/daemon/workloads.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>

#include <grp.h>

namespace berth::runtime::daemon {

using core::Errc;
using core::make_error;

namespace {

/// Worker threads for what blocks (runs, stops, pulls): a stop's grace
/// period holds one, so there are more than cores; idle ones cost no memory.
constexpr unsigned kWorkers = 16;

class RunningDaemon final : public Daemon {
public:
  RunningDaemon(core::FileLock lock, std::unique_ptr<Workloads> workloads, bool stop_on_exit)
      : lock_(std::move(lock)), workloads_(std::move(workloads)), stop_on_exit_(stop_on_exit) {}
  ~RunningDaemon() override {
    pool_.join();
    workloads_.reset();
  }

  core::Result<void> listen(boost::asio::io_context& io, const DaemonOptions& o, DaemonInfo info,
                            const std::function<void(const DaemonEvent&)>& on_event) {
    Post post = [this](std::function<void()> fn) { boost::asio::post(pool_, std::move(fn)); };
    add_system_routes(router_, std::move(info));
    add_image_routes(router_, workloads_, post);
    add_container_routes(router_, workloads_, post);
    core::http::ServerOptions so{.socket = o.socket, .mode = 0660, .max_body = kMaxRequestBody};
    if (const group* g = ::getgrnam(o.socket_group.c_str())) {
      so.group = g->gr_gid;
    } else if (on_event) {
      on_event({DaemonEvent::Kind::Warning, fmt::format("group '{}' not found: the socket is for root alone", o.socket_group),
                o.socket_group});
    }
    BERTH_TRY(core::make_directories(o.socket.parent_path(), 0755), "control socket");
    auto server = core::http::Server::listen(io, so, [this](core::http::Request r, std::shared_ptr<core::http::Reply> reply) {
      router_.dispatch(std::move(r), std::move(reply));
    });
    if (!server) return std::move(server).error().wrap("control socket");
    server_ = std::move(*server);
    if (on_event) on_event({DaemonEvent::Kind::Listening, "listening", o.socket.string()});
    return {};
  }

  void stop() override {
    if (server_) server_->close();
    if (stop_on_exit_) workloads_->stop_all(std::chrono::seconds(10));
  }

private:
  core::FileLock lock_;
  std::shared_ptr<Workloads> workloads_;
  bool stop_on_exit_;
  Router router_;
  boost::asio::thread_pool pool_{kWorkers};
  std::unique_ptr<core::http::Server> server_;
};

}  // namespace

core::Result<std::unique_ptr<Daemon>> Daemon::start(boost::asio::io_context& io, DaemonOptions o, DaemonInfo info,
                                                    std::function<void(const DaemonEvent&)> on_event) {
  BERTH_TRY(core::make_directories(o.base_dir, 0700), "base directory");
  auto lock = core::FileLock::try_acquire(o.base_dir / "berthd.lock");
  if (!lock) {
    if (lock.error().is(Errc::conflict))
      return make_error(Errc::conflict, fmt::format("another berthd uses the base directory '{}'", o.base_dir.string()));
    return std::move(lock).error().wrap("base directory");
  }
  WorkloadsOptions wo;
  wo.base_dir = o.base_dir;
  wo.exec_root = o.exec_root;
  wo.runtime = o.runtime;
  wo.driver = o.net_driver;
  wo.dns = o.dns;
  wo.network = o.network;
  wo.cni_conf_dir = o.cni_conf_dir;
  wo.cni_bin_dirs = {o.cni_bin_dir};
  wo.log_max_size = o.log_max_size;
  wo.log_max_files = o.log_max_files;
  wo.on_event = [on_event](std::string_view message, std::string_view detail) {
    if (on_event) on_event({DaemonEvent::Kind::Notice, std::string(message), std::string(detail)});
  };
  auto workloads = Workloads::open(std::move(wo));
  if (!workloads) return std::move(workloads).error();
  if (on_event) {
    const auto& n = o.network;
    on_event({DaemonEvent::Kind::Backend, "network backend", (*workloads)->driver(),
              {{"network", n.name}, {"subnet", n.subnet.to_string()}, {"dns", std::string(dns_mode_name(o.dns))}}});
  }
  auto d = std::make_unique<RunningDaemon>(std::move(*lock), std::move(*workloads), o.stop_on_exit);
  if (auto r = d->listen(io, o, std::move(info), on_event); !r) return std::move(r).error();
  return std::unique_ptr<Daemon>(std::move(d));
}

}  // namespace berth::runtime::daemon
