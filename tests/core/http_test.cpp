// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 on unix sockets: berth's client against berth's server, and the
// response parser against what daemons really send.
#include "berth/core/fs.hpp"
#include "berth/core/http.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace berth::core;
using namespace std::chrono_literals;

namespace {

/// A server on a socket in a temporary directory, served by a thread of its own.
struct Served {
  berth::test::TempDir dir;
  std::filesystem::path socket = dir.path / "api.sock";
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<http::Server> server;
  std::thread thread;

  explicit Served(http::Handler handler, http::ServerOptions options = {}) {
    options.socket = socket;
    server = http::Server::listen(io, options, std::move(handler)).value();
    thread = std::thread([this] { io.run(); });
  }
  ~Served() {
    boost::asio::post(io, [this] { server.reset(); });
    work.reset();
    io.stop();
    thread.join();
  }
};

http::Response text(int status, std::string body) {
  return http::Response{status, {{"Content-Type", "text/plain"}}, std::move(body)};
}

/// Sends raw bytes and reads until the server closes (or 2 s pass).
std::string raw_exchange(const std::filesystem::path& socket, const std::string& bytes) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, socket.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("the client gets the server's answer over a unix socket", "[http]") {
  Served s([](http::Request req, std::shared_ptr<http::Reply> reply) {
    reply->send(text(req.target == "/v1/ping" ? 200 : 404,
                     req.method + " " + req.target + " " + std::string(req.header("x-berth")) + " " + req.body));
  });
  struct stat st {};
  REQUIRE(::stat(s.socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);

  auto r = http::request(s.socket, {.method = "POST", .target = "/v1/ping", .headers = {{"X-Berth", "yes"}},
                                    .body = "{\"a\":1}"});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "POST /v1/ping yes {\"a\":1}");
  CHECK(r->header("content-type") == "text/plain");
  auto missing = http::request(s.socket, {.target = "/nowhere"});
  REQUIRE(missing);
  CHECK(missing->status == 404);
}

TEST_CASE("a handler may answer later, from another thread", "[http]") {
  std::vector<std::thread> workers;
  std::mutex m;
  Served s([&](http::Request req, std::shared_ptr<http::Reply> reply) {
    std::lock_guard lock(m);
    workers.emplace_back([req = std::move(req), reply] {
      std::this_thread::sleep_for(50ms);
      reply->send(text(200, "late " + req.target));
    });
  });
  auto r = http::request(s.socket, {.target = "/slow"});
  for (auto& w : workers) w.join();
  REQUIRE(r);
  CHECK(r->body == "late /slow");
}

TEST_CASE("a streamed answer arrives piece by piece, chunked", "[http]") {
  Served s([](http::Request, std::shared_ptr<http::Reply> reply) {
    std::thread([reply] {
      reply->start_stream(200, {{"Content-Type", "application/x-ndjson"}});
      for (int i = 0; i < 3; ++i) {
        (void)reply->write(fmt::format("{{\"line\":{}}}\n", i));
        std::this_thread::sleep_for(20ms);
      }
      reply->finish();
    }).detach();
  });
  std::vector<std::string> pieces;
  auto r = http::request_streaming(s.socket, {.target = "/logs"}, [&](std::string_view d) {
    pieces.emplace_back(d);
    return true;
  });
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("transfer-encoding") == "chunked");
  std::string all;
  for (const auto& p : pieces) all += p;
  CHECK(all == "{\"line\":0}\n{\"line\":1}\n{\"line\":2}\n");
  CHECK(pieces.size() >= 2);  // not held back until the end

  // The same stream read whole.
  auto whole = http::request(s.socket, {.target = "/logs"});
  REQUIRE(whole);
  CHECK(whole->body == all);
}

TEST_CASE("a streamed answer written while the connection is writing loses nothing", "[http][stream]") {
  // Found with 20 runs at once through berthd: a piece queued while the
  // connection was busy writing the one before was left unsent until the
  // next one came, and the last (the end of the body) never went.
  Served s([](http::Request, std::shared_ptr<http::Reply> reply) {
    std::thread([reply] {
      reply->start_stream(200, {});
      for (int i = 0; i < 50; ++i) {
        (void)reply->write(std::string(1000 + i, 'x') + "\n");
        if (i % 7 == 0) std::this_thread::yield();
      }
      reply->finish();
    }).detach();
  });
  std::vector<std::thread> clients;
  std::atomic<int> whole{0};
  for (int c = 0; c < 20; ++c)
    clients.emplace_back([&] {
      for (int round = 0; round < 10; ++round) {
        auto r = http::request(s.socket, {.target = "/stream"}, {.timeout = 10s});
        if (r && r->body.size() == 50 * 1000 + 49 * 50 / 2 + 50) ++whole;
      }
    });
  for (auto& t : clients) t.join();
  CHECK(whole == 200);
}

TEST_CASE("a streaming handler learns that its client has gone", "[http]") {
  std::promise<std::shared_ptr<http::Reply>> got;
  Served s([&](http::Request, std::shared_ptr<http::Reply> reply) {
    reply->start_stream(200, {});
    REQUIRE(reply->write("first\n"));
    got.set_value(reply);
  });
  auto r = http::request_streaming(s.socket, {.target = "/follow"}, [](std::string_view) { return false; });
  REQUIRE(r);  // the client read one piece and hung up
  auto reply = got.get_future().get();
  bool noticed = false;
  for (int i = 0; i < 200 && !noticed; ++i) {
    noticed = reply->closed() || !reply->write("more\n");
    std::this_thread::sleep_for(10ms);
  }
  CHECK(noticed);
}

TEST_CASE("keep-alive serves several requests on one connection, in order", "[http]") {
  Served s([](http::Request req, std::shared_ptr<http::Reply> reply) { reply->send(text(200, req.target)); });
  const std::string out = raw_exchange(
      s.socket, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  INFO(out);
  const auto a = out.find("\r\n\r\n/a");
  const auto b = out.find("\r\n\r\n/b");
  CHECK(a != std::string::npos);
  CHECK(b != std::string::npos);
  CHECK(a < b);
}

TEST_CASE("bad requests get one JSON error and the connection closes", "[http]") {
  Served s([](http::Request, std::shared_ptr<http::Reply> reply) { reply->send(text(200, "ok")); },
           {.max_body = 16});
  SECTION("malformed") {
    const std::string out = raw_exchange(s.socket, "NOT HTTP AT ALL\r\n\r\n");
    CHECK_THAT(out, Catch::StartsWith("HTTP/1.1 400"));
    CHECK_THAT(out, Catch::Contains("{\"error\":{\"code\":\"bad_request\""));
  }
  SECTION("too large") {
    auto r = http::request(s.socket, {.method = "POST", .target = "/", .body = std::string(100, 'x')});
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK_THAT(r->body, Catch::Contains("larger than 16 bytes"));
  }
  SECTION("a handler that gives no answer") {
    Served quiet([](http::Request, std::shared_ptr<http::Reply>) {});
    auto r = http::request(quiet.socket, {.target = "/"});
    REQUIRE(r);
    CHECK(r->status == 500);
  }
}

TEST_CASE("a stale socket file is replaced, a live one or another file is refused", "[http]") {
  berth::test::TempDir dir;
  boost::asio::io_context io;
  const auto path = dir.path / "d.sock";
  auto handler = [](http::Request, std::shared_ptr<http::Reply> r) { r->send({}); };
  {
    // A socket nobody listens on any more (its owner died).
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::close(fd);
  }
  auto first = http::Server::listen(io, {.socket = path}, handler);
  REQUIRE(first);
  CHECK(http::accepts_connections(path));
  auto second = http::Server::listen(io, {.socket = path}, handler);
  REQUIRE_FALSE(second);
  CHECK(second.error().is(Errc::conflict));
  (*first)->close();
  CHECK_FALSE(std::filesystem::exists(path));

  REQUIRE(write_file_atomic(path, "not a socket"));
  auto third = http::Server::listen(io, {.socket = path}, handler);
  REQUIRE_FALSE(third);
  CHECK_THAT(third.error().message(), Catch::Contains("is not a socket"));
  CHECK(read_file(path).value() == "not a socket");  // nothing lost
}

TEST_CASE("the client says which request failed and why", "[http]") {
  berth::test::TempDir dir;
  auto r = http::request(dir.path / "nobody.sock", {.target = "/_ping"});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::StartsWith("GET /_ping on '"));
  CHECK_THAT(r.error().message(), Catch::EndsWith("No such file or directory"));

  // A server that accepts and never answers: the deadline holds.
  std::mutex m;
  std::vector<std::shared_ptr<http::Reply>> held;  // answered (500) when dropped, before the server goes
  Served mute([&](http::Request, std::shared_ptr<http::Reply> reply) {
    std::lock_guard lock(m);
    held.push_back(std::move(reply));
  });
  auto late = http::request(mute.socket, {.target = "/"}, {.timeout = 200ms});
  held.clear();
  REQUIRE_FALSE(late);
  CHECK(late.error().is(Errc::timed_out));
}

TEST_CASE("parse_response reads sized, chunked and unsized bodies and refuses garbage", "[http]") {
  auto sized = http::parse_response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.41\r\n\r\nOK");
  REQUIRE(sized);
  CHECK(sized->status == 200);
  CHECK(sized->body == "OK");
  CHECK(sized->header("api-version") == "1.41");

  auto chunked = http::parse_response(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[{\"I\r\n6\r\nd\":1}]\r\n0\r\n\r\n");
  REQUIRE(chunked);
  CHECK(chunked->body == "[{\"Id\":1}]");

  auto unsized = http::parse_response("HTTP/1.0 204 No Content\r\n\r\n");
  REQUIRE(unsized);
  CHECK(unsized->status == 204);
  CHECK(unsized->body.empty());

  for (std::string_view bad : {"", "HTTP/1.1", "SMTP 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.0 004 No Content\r\n\r\n",
                               "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                               "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    INFO(bad);
    CHECK_FALSE(http::parse_response(bad));
  }
  auto big = http::parse_response("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'), 10);
  CHECK_FALSE(big);
}
