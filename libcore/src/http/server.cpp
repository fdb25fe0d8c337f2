// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 server on a unix socket: one coroutine per connection on the
// caller's io_context. A handler answers through a Reply that it may keep
// and complete from another thread; the answer travels to the connection's
// coroutine through a queue guarded by a mutex, and a timer that is
// cancelled (on the loop's thread) wakes the coroutine up.
#include "berth/core/http.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <mutex>
#include <variant>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace berth::core::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::awaitable;
using asio::use_awaitable;
using Stream = beast::basic_stream<asio::local::stream_protocol>;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

/// A slow client may fall this far behind a streamed body before it is dropped.
constexpr std::size_t kMaxQueued = std::size_t{16} << 20;

/// One step of an answer, queued by the handler's thread for the connection.
struct Event {
  enum class Kind { Whole, Start, Data, End } kind;
  Response response;  // Whole, Start (no body)
  std::string data;   // Data
};

/// How a Reply wakes its connection: the connection's timer, cancelled on
/// the loop's thread. The timer lives with the connection, not the Reply (a
/// handler may keep a Reply after the loop and its io_context are gone);
/// the connection unlinks it when it ends, and a Reply then wakes nobody.
struct Waker {
  std::mutex mutex;
  asio::steady_timer* timer = nullptr;  // null once the connection has ended
  asio::any_io_executor executor;

  static void wake(const std::shared_ptr<Waker>& w) {
    std::lock_guard lock(w->mutex);
    if (!w->timer) return;
    asio::post(w->executor, [w] {
      if (w->timer) w->timer->cancel();  // on the loop's thread, as the connection is
    });
  }
};

/// What a connection and the handler's Reply share.
struct ReplyState {
  explicit ReplyState(std::shared_ptr<Waker> w) : waker(std::move(w)) {}

  void push(Event e) {
    {
      std::lock_guard lock(mutex);
      if (e.kind == Event::Kind::Data) queued += e.data.size();
      events.push_back(std::move(e));
    }
    Waker::wake(waker);
  }
  std::deque<Event> take() {
    std::lock_guard lock(mutex);
    queued = 0;
    return std::exchange(events, {});
  }
  bool pending() {
    std::lock_guard lock(mutex);
    return !events.empty();
  }

  std::shared_ptr<Waker> waker;
  std::mutex mutex;
  std::deque<Event> events;
  std::size_t queued = 0;
  std::atomic<bool> closed{false};
};

class ReplyHandle final : public Reply {
public:
  explicit ReplyHandle(std::shared_ptr<ReplyState> state) : state_(std::move(state)) {}
  ~ReplyHandle() override {
    std::lock_guard lock(mutex_);
    if (!answered_)
      state_->push({Event::Kind::Whole, error_response(500, "internal", "the request got no answer"), {}});
    else if (streaming_ && !finished_)
      state_->push({Event::Kind::End, {}, {}});
  }

  void send(Response response) override {
    std::lock_guard lock(mutex_);
    if (answered_) return;
    answered_ = true;
    state_->push({Event::Kind::Whole, std::move(response), {}});
  }
  void start_stream(int status, Headers headers) override {
    std::lock_guard lock(mutex_);
    if (answered_) return;
    answered_ = streaming_ = true;
    state_->push({Event::Kind::Start, Response{status, std::move(headers), {}}, {}});
  }
  bool write(std::string_view data) override {
    std::lock_guard lock(mutex_);
    if (!streaming_ || finished_ || state_->closed) return false;
    if (data.empty()) return true;  // an empty chunk would end the body
    {
      std::lock_guard q(state_->mutex);
      if (state_->queued > kMaxQueued) {
        state_->closed = true;
        return false;
      }
    }
    state_->push({Event::Kind::Data, {}, std::string(data)});
    return true;
  }
  void finish() override {
    std::lock_guard lock(mutex_);
    if (!streaming_ || finished_) return;
    finished_ = true;
    state_->push({Event::Kind::End, {}, {}});
  }
  bool closed() const override { return state_->closed; }

private:
  std::shared_ptr<ReplyState> state_;
  std::mutex mutex_;
  bool answered_ = false, streaming_ = false, finished_ = false;
};

struct Shared {
  ServerOptions options;
  Handler handler;
};

template <class Body>
void put_headers(bhttp::response<Body>& res, const Headers& headers) {
  for (const auto& [k, v] : headers) res.set(k, v);
}

/// True when the peer has closed its end (a read would give end of file).
bool peer_gone(Stream& stream) {
  char byte;
  ssize_t n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/// Writes the handler's answer as it comes; false when the connection must close.
awaitable<bool> deliver(Stream& stream, asio::steady_timer& wake, ReplyState& state, unsigned version, bool keep_alive,
                        std::chrono::seconds write_timeout) {
  bool streaming = false;
  bool watch_peer = true;
  std::optional<bhttp::response<bhttp::empty_body>> head;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> serializer;
  for (;;) {
    for (auto& ev : state.take()) {
      beast::error_code ec;
      stream.expires_after(write_timeout);
      switch (ev.kind) {
        case Event::Kind::Whole: {
          bhttp::response<bhttp::string_body> res;
          res.version(version);
          res.result(static_cast<unsigned>(ev.response.status));
          put_headers(res, ev.response.headers);
          res.body() = std::move(ev.response.body);
          res.keep_alive(keep_alive);
          res.prepare_payload();
          std::tie(ec, std::ignore) = co_await bhttp::async_write(stream, res, kTuple);
          if (ec) state.closed = true;
          co_return !ec && keep_alive;
        }
        case Event::Kind::Start: {
          head.emplace();
          head->version(version);
          head->result(static_cast<unsigned>(ev.response.status));
          put_headers(*head, ev.response.headers);
          head->chunked(true);
          head->keep_alive(keep_alive);
          serializer.emplace(*head);
          std::tie(ec, std::ignore) = co_await bhttp::async_write_header(stream, *serializer, kTuple);
          streaming = true;
          break;
        }
        case Event::Kind::Data:
          std::tie(ec, std::ignore) =
              co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(ev.data)), kTuple);
          break;
        case Event::Kind::End:
          std::tie(ec, std::ignore) = co_await asio::async_write(stream, bhttp::make_chunk_last(), kTuple);
          if (ec) state.closed = true;
          co_return !ec && keep_alive;
      }
      if (ec) {
        state.closed = true;
        co_return false;
      }
    }
    stream.expires_never();
    wake.expires_at(asio::steady_timer::time_point::max());
    // A Reply's wake-up that ran while a write above was in progress
    // cancelled no wait: what it pushed is looked for here, before waiting
    // (nothing suspends between this look and the wait, and a later wake-up
    // runs on this thread only once the wait has begun).
    if (state.pending()) continue;
    if (streaming && watch_peer) {
      // While the producer is quiet (a followed log), notice a client that left.
      auto woke = co_await (wake.async_wait(kTuple) || stream.socket().async_wait(
                                                                 asio::socket_base::wait_read, kTuple));
      if (woke.index() == 1) {
        if (peer_gone(stream)) {
          state.closed = true;
          co_return false;
        }
        watch_peer = false;  // a pipelined request waits its turn
      }
    } else {
      co_await wake.async_wait(kTuple);
    }
    if (state.closed) co_return false;
  }
}

awaitable<void> serve(std::shared_ptr<Shared> shared, asio::local::stream_protocol::socket socket) {
  Stream stream(std::move(socket));
  beast::flat_buffer buffer;
  const auto& options = shared->options;
  asio::steady_timer wake(stream.get_executor());
  auto waker = std::make_shared<Waker>();
  waker->timer = &wake;
  waker->executor = stream.get_executor();
  // However the connection ends (also when the io_context goes first), Replies let go of its timer.
  struct Unlink {
    std::shared_ptr<Waker> w;
    ~Unlink() {
      std::lock_guard lock(w->mutex);
      w->timer = nullptr;
    }
  } unlink{waker};
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(options.max_body);
    stream.expires_after(options.idle_timeout);
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kTuple);
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      break;
    if (ec) {
      // The request cannot be read: say why, once, and close.
      const bool too_big = ec == bhttp::error::body_limit;
      Response r = too_big ? error_response(413, "body_too_large",
                                            fmt::format("the request body is larger than {} bytes", options.max_body))
                           : error_response(400, "bad_request", fmt::format("malformed request: {}", ec.message()));
      bhttp::response<bhttp::string_body> res;
      res.version(11);
      res.result(static_cast<unsigned>(r.status));
      put_headers(res, r.headers);
      res.body() = std::move(r.body);
      res.keep_alive(false);
      res.prepare_payload();
      stream.expires_after(options.idle_timeout);
      co_await bhttp::async_write(stream, res, kTuple);
      break;
    }
    auto msg = parser.release();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    const bool keep_alive = msg.keep_alive();

    auto state = std::make_shared<ReplyState>(waker);
    {
      auto reply = std::make_shared<ReplyHandle>(state);
      try {
        shared->handler(std::move(req), reply);
      } catch (const std::exception& e) {
        reply->send(error_response(500, "internal", e.what()));
      }
    }
    const bool again = co_await deliver(stream, wake, *state, msg.version(), keep_alive, options.idle_timeout);
    state->closed = true;
    if (!again) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
}

/// The listening socket; the accept loop holds it, so it outlives a Server
/// destroyed while an accept is pending.
struct Listening {
  Listening(asio::io_context& io, std::shared_ptr<Shared> s) : acceptor(io), shared(std::move(s)) {}
  asio::local::stream_protocol::acceptor acceptor;
  std::shared_ptr<Shared> shared;
};

awaitable<void> accept_loop(std::shared_ptr<Listening> l) {
  for (;;) {
    auto [ec, socket] = co_await l->acceptor.async_accept(kTuple);
    if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) co_return;
    if (ec) continue;  // EMFILE and the like: the next client may fare better
    asio::co_spawn(l->acceptor.get_executor(), serve(l->shared, std::move(socket)), asio::detached);
  }
}

class ServerImpl final : public Server {
public:
  ServerImpl(asio::io_context& io, std::shared_ptr<Shared> shared)
      : listening_(std::make_shared<Listening>(io, std::move(shared))) {}
  ~ServerImpl() override { close(); }

  Result<void> open() {
    const auto& o = listening_->shared->options;
    auto& acceptor = listening_->acceptor;
    const std::string path = o.socket.string();
    const std::string what = fmt::format("listen on '{}'", path);
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path))
      return make_error(Errc::invalid_argument, what + ": the socket path is empty or too long");
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode))
        return make_error(Errc::already_exists, what + ": the path exists and is not a socket");
      if (accepts_connections(o.socket))
        return make_error(Errc::conflict, what + ": another server is listening there");
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error(errno, what + ": remove stale socket");
    }
    beast::error_code ec;
    asio::local::stream_protocol::endpoint endpoint(path);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (ec) return make_error(std::error_code(ec), what);
    bound_ = true;
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error(std::error_code(ec), what);
    if (::chmod(path.c_str(), o.mode) != 0) return errno_error(errno, what + ": chmod");
    if (o.group && ::chown(path.c_str(), static_cast<uid_t>(-1), *o.group) != 0)
      return errno_error(errno, what + ": chown");
    asio::co_spawn(acceptor.get_executor(), accept_loop(listening_), asio::detached);
    return {};
  }

  void close() override {
    if (!bound_) return;
    bound_ = false;
    beast::error_code ec;
    listening_->acceptor.close(ec);
    ::unlink(listening_->shared->options.socket.c_str());
  }

private:
  std::shared_ptr<Listening> listening_;
  bool bound_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::listen(asio::io_context& io, ServerOptions options, Handler handler) {
  auto shared = std::make_shared<Shared>(Shared{std::move(options), std::move(handler)});
  auto server = std::make_unique<ServerImpl>(io, std::move(shared));
  if (auto r = server->open(); !r) return r.error();
  return std::unique_ptr<Server>(std::move(server));
}

Response error_response(int status, std::string_view code, std::string_view message) {
  boost::json::value body = {{"error", {{"code", code}, {"message", message}}}};
  return Response{status, {{"Content-Type", "application/json"}}, boost::json::serialize(body) + "\n"};
}

}  // namespace berth::core::http
