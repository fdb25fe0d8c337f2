// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/daemon.hpp"

#include "berth/core/fs.hpp"
#include "berth/core/http.hpp"
#include "berth/runtime/container/containers.hpp"
#include "berth/runtime/image/store.hpp"

#include <fmt/format.h>

#include <grp.h>

namespace berth::runtime::daemon {

using core::Errc;
using core::make_error;

namespace {

constexpr std::size_t kMaxRequestBody = std::size_t{4} << 20;

class RunningDaemon final : public Daemon {
public:
  RunningDaemon(core::FileLock lock, image::Store images, container::Containers containers)
      : lock_(std::move(lock)), images_(std::move(images)), containers_(std::move(containers)) {}

  core::Result<void> listen(boost::asio::io_context& io, const DaemonOptions& o, DaemonInfo info,
                            const std::function<void(const DaemonEvent&)>& on_event) {
    add_system_routes(router_, std::move(info));
    add_image_routes(router_, images_);
    add_container_routes(router_, containers_);
    // Requests are small JSON documents (a compose file at most); a longer
    // body is refused (413, JSON) as soon as its Content-Length is read.
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
  }

private:
  core::FileLock lock_;
  image::Store images_;
  container::Containers containers_;
  Router router_;
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
  auto images = image::Store::open(o.base_dir);
  if (!images) return std::move(images).error().wrap("image store");
  auto containers = container::Containers::open({.base = o.base_dir, .runtime = o.runtime});
  if (!containers) return std::move(containers).error();
  auto d = std::make_unique<RunningDaemon>(std::move(*lock), std::move(*images), std::move(*containers));
  if (auto r = d->listen(io, o, std::move(info), on_event); !r) return std::move(r).error();
  return std::unique_ptr<Daemon>(std::move(d));
}

}  // namespace berth::runtime::daemon
