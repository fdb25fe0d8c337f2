// SPDX-License-Identifier: Apache-2.0
// berthd's router served on a unix socket in a temporary directory by a
// thread of its own, and asked as a client asks it.
#pragma once

#include "berth/core/http.hpp"
#include "berth/runtime/daemon/router.hpp"
#include "berth/runtime/daemon/routes.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <thread>

namespace berth::test {

struct ApiServer {
  TempDir dir;
  std::filesystem::path socket = dir.path / "berthd.sock";
  runtime::daemon::Router router;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<core::http::Server> server;
  std::thread thread;

  /// Routes are added to `router` first; then serve().
  void serve() {
    server = core::http::Server::listen(io, {.socket = socket, .max_body = runtime::daemon::kMaxRequestBody},
                                        [this](core::http::Request r, std::shared_ptr<core::http::Reply> reply) {
                                          router.dispatch(std::move(r), std::move(reply));
                                        })
                 .value();
    thread = std::thread([this] { io.run(); });
  }
  ~ApiServer() {
    boost::asio::post(io, [this] { server.reset(); });
    work.reset();
    if (thread.joinable()) thread.join();
  }
  core::http::Response ask(std::string method, std::string target) {
    auto r = core::http::request(socket, {.method = std::move(method), .target = std::move(target)});
    REQUIRE(r);
    return *r;
  }
};

/// The body of a JSON answer.
inline boost::json::value json_of(const core::http::Response& r) {
  CHECK(r.header("Content-Type") == "application/json");
  return boost::json::parse(r.body);
}

}  // namespace berth::test
