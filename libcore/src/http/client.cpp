// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 client: one request per connection, on a private io_context,
// so a blocking caller gets Beast's parser (chunked bodies, limits) and one
// deadline over connect, write and read.
#include "berth/core/http.hpp"

#include "berth/core/unique_fd.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <array>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>

namespace berth::core::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using Stream = beast::basic_stream<asio::local::stream_protocol>;

constexpr std::uint32_t kHeaderLimit = 64 * 1024;

Error from(const beast::error_code& ec, const std::string& what) {
  if (ec == beast::error::timeout) return make_error(Errc::timed_out, what + ": no answer in time");
  if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() || ec.category() == asio::error::get_misc_category())
    return make_error(Errc::protocol, fmt::format("{}: {}", what, ec.message()));
  return make_error(std::error_code(ec), what);
}

Headers headers_of(const bhttp::fields& fields) {
  Headers out;
  for (const auto& f : fields) out.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

bhttp::request<bhttp::string_body> to_beast(const Request& req) {
  bhttp::request<bhttp::string_body> r;
  const auto verb = bhttp::string_to_verb(req.method);
  if (verb == bhttp::verb::unknown) r.method_string(req.method);
  else r.method(verb);
  r.target(req.target);
  r.version(11);
  // HTTP/1.1 wants a Host, even over a unix socket (DEPENDENCIES.md, pitfall 7).
  r.set(bhttp::field::host, "localhost");
  for (const auto& [k, v] : req.headers) r.set(k, v);
  r.body() = req.body;
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT") r.prepare_payload();
  return r;
}

/// Runs the io_context until the operation started before has completed.
void finish(asio::io_context& io) {
  io.run();
  io.restart();
}

Result<void> connect_and_send(asio::io_context& io, Stream& stream, const std::filesystem::path& socket,
                              const Request& req, const std::string& what) {
  if (socket.string().size() >= sizeof(sockaddr_un::sun_path))
    return make_error(Errc::invalid_argument, fmt::format("{}: socket path is too long", what));
  beast::error_code ec;
  stream.async_connect(asio::local::stream_protocol::endpoint(socket.string()),
                       [&](const beast::error_code& e) { ec = e; });
  finish(io);
  if (ec) return from(ec, what);
  auto message = to_beast(req);
  bhttp::async_write(stream, message, [&](const beast::error_code& e, std::size_t) { ec = e; });
  finish(io);
  // A server may answer before it has read the whole request and close
  // (a 413 for a body too long): its answer is read all the same.
  if (ec == asio::error::broken_pipe || ec == asio::error::connection_reset) return {};
  if (ec) return from(ec, what);
  return {};
}

std::string describe(const std::filesystem::path& socket, const Request& req) {
  return fmt::format("{} {} on '{}'", req.method, req.target, socket.string());
}

/// Beast takes any three digits; a status below 100 is not HTTP (found by
/// the fuzzer: "HTTP/1.0 004").
Result<void> check_status(unsigned status) {
  if (status < 100) return make_error(Errc::protocol, fmt::format("HTTP response: status {:03} is not an HTTP status", status));
  return {};
}

}  // namespace

Result<Response> request(const std::filesystem::path& socket, const Request& req, const ClientOptions& options) {
  const std::string what = describe(socket, req);
  asio::io_context io;
  Stream stream(io);
  stream.expires_after(options.timeout);
  BERTH_TRY(connect_and_send(io, stream, socket, req, what), "");
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(options.max_body);
  // The answer to a HEAD, or a 204/304, has no body whatever its headers say.
  if (req.method == "HEAD") parser.skip(true);
  beast::error_code ec;
  bhttp::async_read(stream, buffer, parser, [&](const beast::error_code& e, std::size_t) { ec = e; });
  finish(io);
  if (ec) return from(ec, what);
  auto& msg = parser.get();
  BERTH_TRY(check_status(msg.result_int()), what);
  return Response{static_cast<int>(msg.result_int()), headers_of(msg.base()), std::move(msg.body())};
}

Result<Response> request_streaming(const std::filesystem::path& socket, const Request& req,
                                   const std::function<bool(std::string_view)>& on_data,
                                   const ClientOptions& options) {
  const std::string what = describe(socket, req);
  asio::io_context io;
  Stream stream(io);
  stream.expires_after(options.timeout);
  BERTH_TRY(connect_and_send(io, stream, socket, req, what), "");
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(boost::none);  // a followed stream has no end in sight
  beast::error_code ec;
  bhttp::async_read_header(stream, buffer, parser, [&](const beast::error_code& e, std::size_t) { ec = e; });
  finish(io);
  if (ec) return from(ec, what);
  Response out{static_cast<int>(parser.get().result_int()), headers_of(parser.get().base()), {}};
  stream.expires_never();
  std::array<char, 16384> chunk;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    // read_some: hand over what has come, not wait until the buffer is full.
    bhttp::async_read_some(stream, buffer, parser, [&](const beast::error_code& e, std::size_t) { ec = e; });
    finish(io);
    if (ec && ec != bhttp::error::need_buffer) return from(ec, what);
    const std::size_t got = chunk.size() - parser.get().body().size;
    if (got > 0 && !on_data(std::string_view(chunk.data(), got))) break;
  }
  return out;
}

Result<Response> parse_response(std::string_view raw, std::size_t max_body) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.eager(true);
  parser.header_limit(kHeaderLimit);
  parser.body_limit(max_body);
  beast::error_code ec;
  std::size_t used = 0;
  while (!parser.is_done() && used < raw.size()) {
    const std::size_t n = parser.put(asio::buffer(raw.data() + used, raw.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec) break;
    if (n == 0) break;
  }
  if (!ec && !parser.is_header_done())
    return make_error(Errc::protocol, "HTTP response: no complete status line and headers");
  // A body that is not sized ends with the input.
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec) return make_error(Errc::protocol, fmt::format("HTTP response: {}", ec.message()));
  if (!parser.is_done()) return make_error(Errc::protocol, "HTTP response: cut short");
  auto& msg = parser.get();
  if (auto ok = check_status(msg.result_int()); !ok) return std::move(ok).error();
  return Response{static_cast<int>(msg.result_int()), headers_of(msg.base()), std::move(msg.body())};
}

bool accepts_connections(const std::filesystem::path& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = socket.string();
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace berth::core::http
