// SPDX-License-Identifier: Apache-2.0
// The Docker Engine API client against a dockerd stand-in served by berth's
// own HTTP server on a unix socket, answering as dockerd 20.10 does.
#include "berth/core/http.hpp"
#include "berth/runtime/docker/engine.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <mutex>
#include <thread>

using namespace berth;
using namespace berth::runtime::docker;

namespace {

struct Dockerd {
  test::TempDir dir;
  std::filesystem::path socket = dir.path / "docker.sock";
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<core::http::Server> server;
  std::thread thread;
  std::mutex mutex;
  std::vector<std::string> containers{"8dfafdbc3a40aa", "0123abcd"};
  std::vector<std::string> requests;

  Dockerd() {
    server = core::http::Server::listen(io, {.socket = socket}, [this](core::http::Request req, auto reply) {
                std::lock_guard lock(mutex);
                requests.push_back(req.method + " " + req.target);
                if (req.target == "/_ping") return reply->send({200, {{"Api-Version", "1.41"}}, "OK"});
                if (req.target == "/containers/json?all=1") {
                  std::string body = "[";
                  for (const auto& c : containers) body += (body.size() > 1 ? "," : "") + ("{\"Id\":\"" + c + "\"}");
                  // dockerd sends lists chunked
                  reply->start_stream(200, {{"Content-Type", "application/json"}});
                  (void)reply->write(body);
                  (void)reply->write("]");
                  return reply->finish();
                }
                if (req.method == "DELETE" && req.target.starts_with("/containers/")) {
                  const auto id = req.target.substr(12, req.target.find('?') - 12);
                  auto it = std::find(containers.begin(), containers.end(), id);
                  if (it == containers.end())
                    return reply->send({404, {}, "{\"message\":\"No such container: " + id + "\"}\n"});
                  if (id == "0123abcd")
                    return reply->send({409, {}, "{\"message\":\"removal of container 0123abcd is already in progress\"}\n"});
                  containers.erase(it);
                  return reply->send({204, {}, ""});
                }
                reply->send({404, {}, "{\"message\":\"page not found\"}"});
              }).value();
    thread = std::thread([this] { io.run(); });
  }
  ~Dockerd() {
    boost::asio::post(io, [this] { server.reset(); });
    work.reset();
    thread.join();
  }
};

}  // namespace

TEST_CASE("the engine client pings, lists and removes containers", "[docker]") {
  Dockerd d;
  auto engine = make_engine(d.socket);
  CHECK(engine->socket() == d.socket);
  CHECK(engine->ping(std::chrono::seconds(2)));
  CHECK(engine->list_containers().value() == std::vector<std::string>{"8dfafdbc3a40aa", "0123abcd"});
  REQUIRE(engine->remove_container("8dfafdbc3a40aa"));
  REQUIRE(engine->remove_container("8dfafdbc3a40aa"));  // gone: 404 is fine
  auto busy = engine->remove_container("0123abcd");
  REQUIRE_FALSE(busy);
  CHECK(busy.error().message() ==
        "remove container 0123abcd: HTTP 409: {\"message\":\"removal of container 0123abcd is already in progress\"}");
  auto bad = engine->remove_container("../../x");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().is(core::Errc::invalid_argument));
  std::lock_guard lock(d.mutex);
  CHECK(d.requests.at(2) == "DELETE /containers/8dfafdbc3a40aa?force=1&v=1");
  CHECK(std::none_of(d.requests.begin(), d.requests.end(), [](auto& r) { return r.find("..") != std::string::npos; }));
}

TEST_CASE("a socket nobody listens on does not answer, and errors name it", "[docker]") {
  test::TempDir dir;
  auto engine = make_engine(dir.path / "docker.sock");
  CHECK_FALSE(engine->ping(std::chrono::milliseconds(200)));
  auto r = engine->list_containers();
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("docker.sock"));
}

TEST_CASE("container lists are parsed defensively", "[docker]") {
  auto ids = parse_container_list(R"([{"Id":"8dfafdbc3a40"},{"Id":"../../x"},{"Names":[]},7,{"Id":"ABC123"}])").value();
  CHECK(ids == std::vector<std::string>{"8dfafdbc3a40", "ABC123"});  // a path in an id is never used
  CHECK_FALSE(parse_container_list("{}"));
  CHECK_FALSE(parse_container_list("[{"));
  CHECK(is_container_id("0123456789abcdef"));
  CHECK_FALSE(is_container_id(""));
  CHECK_FALSE(is_container_id(std::string(129, 'a')));
}
