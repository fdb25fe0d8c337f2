// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace boost::asio {
class io_context;
}

/// HTTP/1.1 over unix sockets (Boost.Beast): a client for daemons' control
/// sockets (dockerd's, berthd's) and a server for berthd's. Beast parses and
/// writes the protocol (chunked bodies, keep-alive, limits); this layer adds
/// unix sockets, deadlines, socket ownership and replies that a handler may
/// complete later or stream from any thread.
namespace berth::core::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// The value of header `name` (case-insensitive), or "" when it is absent.
[[nodiscard]] std::string_view find_header(const Headers& headers, std::string_view name);

struct Request {
  std::string method = "GET";
  std::string target = "/";
  Headers headers;
  std::string body;
  [[nodiscard]] std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  [[nodiscard]] std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

// Client ---------------------------------------------------------------------

struct ClientOptions {
  /// The whole exchange must end within this; for a streamed body, the
  /// connection and the response's headers.
  std::chrono::milliseconds timeout{30000};
  /// A longer body is refused (`Errc::protocol`).
  std::size_t max_body = std::size_t{64} << 20;
};

/// Sends one request on a new connection to the unix socket `socket` and
/// reads the whole response (sized, chunked, or up to the end of the stream).
/// Errors name the method, target and socket; a socket nobody listens on is
/// ECONNREFUSED or ENOENT.
[[nodiscard]] Result<Response> request(const std::filesystem::path& socket, const Request& request,
                                       const ClientOptions& options = {});

/// Like `request`, but hands the body to `on_data` piece by piece as it
/// arrives (a log that is followed, progress events) and returns the response
/// without a body. Reading stops when the body ends, or when `on_data`
/// returns false.
[[nodiscard]] Result<Response> request_streaming(const std::filesystem::path& socket, const Request& request,
                                                 const std::function<bool(std::string_view)>& on_data,
                                                 const ClientOptions& options = {});

/// Parses one whole HTTP/1.x response, as read from a socket: status line,
/// headers, and a body sized by Content-Length, chunked, or ending with the
/// input. Untrusted input: fuzzed.
[[nodiscard]] Result<Response> parse_response(std::string_view raw, std::size_t max_body = std::size_t{64} << 20);

/// True when something accepts connections on the unix socket (containerd's
/// gRPC socket, say), whatever protocol it speaks.
[[nodiscard]] bool accepts_connections(const std::filesystem::path& socket);

// Server ---------------------------------------------------------------------

/// Where a handler answers one request. It may answer at once or keep the
/// reply and answer later from any thread; exactly one of `send` or
/// `start_stream` ... `finish` is used. A reply dropped without an answer
/// sends 500. Thread-safe.
class Reply {
public:
  virtual ~Reply() = default;
  /// Sends the whole response.
  virtual void send(Response response) = 0;
  /// Starts a streamed response: the status and headers go now, the body
  /// follows in pieces (chunked transfer encoding).
  virtual void start_stream(int status, Headers headers) = 0;
  /// Queues one piece of a streamed body; false once the client has gone
  /// (the producer should stop).
  virtual bool write(std::string_view data) = 0;
  /// Ends a streamed body.
  virtual void finish() = 0;
  /// True once the client has gone.
  [[nodiscard]] virtual bool closed() const = 0;
};

using Handler = std::function<void(Request request, std::shared_ptr<Reply> reply)>;

struct ServerOptions {
  std::filesystem::path socket;
  /// The socket file's mode, and its group (owner: the process's user).
  mode_t mode = 0660;
  std::optional<gid_t> group;
  /// A longer request body gets 413.
  std::size_t max_body = std::size_t{64} << 20;
  /// A connection that sends nothing for this long is closed (not while a
  /// streamed response is going out).
  std::chrono::seconds idle_timeout{60};
};

/// An HTTP/1.1 server on a unix socket, served by the io_context it is
/// given (the daemon's one loop): requests are read there and handed to the
/// handler there, so a handler that blocks holds up every connection and
/// should hand its work to another thread. Keep-alive, pipelining in order,
/// and a stale socket file (nobody accepts on it) is replaced; a live one is
/// `Errc::conflict`. Not thread-safe; destroy it on the loop's thread or
/// after the loop has stopped.
class Server {
public:
  [[nodiscard]] static Result<std::unique_ptr<Server>> listen(boost::asio::io_context& io, ServerOptions options,
                                                              Handler handler);
  virtual ~Server() = default;
  /// Stops accepting and removes the socket file; connections being served go on.
  virtual void close() = 0;
};

/// berth's error answer, the server's own (413, 400, 500) and berthd's:
/// {"error":{"code":"not_found","message":"..."}} as application/json.
[[nodiscard]] Response error_response(int status, std::string_view code, std::string_view message);

/// The reason phrase of a status code ("Not Found").
[[nodiscard]] std::string_view reason(int status);

}  // namespace berth::core::http
