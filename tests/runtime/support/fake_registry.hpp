// SPDX-License-Identifier: Apache-2.0
// A registry the test controls (HTTP/1.1 on 127.0.0.1 over Boost.Beast),
// serving an OCI layout through the distribution API, for what a real one
// will not do on demand: Bearer tokens from its own token endpoint, a
// connection broken in the middle of a blob, Range ignored, blobs
// redirected to another address, 500 for ever, a manifest that lies,
// documents of its own in place of the layout's; it also answers as an
// HTTP proxy would, to requests in absolute form.
#pragma once

#include "berth/core/fs.hpp"
#include "berth/runtime/image/auth.hpp"
#include "berth/runtime/image/digest.hpp"

#include "berth_catch.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace berth::test {

struct FakeRegistryOptions {
  std::filesystem::path layout;  ///< an OCI layout; its "latest" is served as NAME:latest
  std::string name = "team/app";
  bool bearer = false;           ///< require a token from /token
  std::string token_user, token_password;  ///< set: /token wants these as Basic
  std::int64_t break_after = 0;  ///< >0: the first GET of each blob stops after this many bytes
  bool hang_after_break = false;  ///< ...and then sends nothing more, until the client goes
  bool ignore_range = false;     ///< answer 200 with the whole blob even to a Range
  bool redirect_blobs = false;   ///< blobs answer 307 to /storage/<digest>
  bool fail_always = false;      ///< every request gets 500
  std::map<std::string, std::string> replace_blobs;  ///< digest -> other bytes served in its place
  /// Tag or digest -> {Content-Type, document} served in place of the layout's manifests.
  std::map<std::string, std::pair<std::string, std::string>> manifests;
};

class FakeRegistry {
public:
  explicit FakeRegistry(FakeRegistryOptions o) : o_(std::move(o)), acceptor_(io_) {
    namespace asio = boost::asio;
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    auto index = boost::json::parse(core::read_file(o_.layout / "index.json").value()).as_object();
    manifest_digest_ = std::string(index.at("manifests").as_array().at(0).as_object().at("digest").as_string());
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~FakeRegistry() {
    stopping_ = true;
    boost::system::error_code ec;
    // Wake the accept with a connection of our own, then close.
    boost::asio::ip::tcp::socket s(io_);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
    for (auto& t : connections_) t.join();
  }

  [[nodiscard]] std::string host() const { return fmt::format("127.0.0.1:{}", port_); }
  [[nodiscard]] const std::string& manifest_digest() const { return manifest_digest_; }

  /// Every request seen: "GET /v2/... [Range: bytes=N-] [auth]".
  std::vector<std::string> requests() {
    std::lock_guard lock(m_);
    return requests_;
  }
  /// Bytes of blob bodies sent, by digest.
  std::int64_t sent(const std::string& digest) {
    std::lock_guard lock(m_);
    return sent_[digest];
  }

private:
  void accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket s(io_);
      acceptor_.accept(s, ec);
      if (stopping_ || ec) return;
      connections_.emplace_back([this, sock = std::move(s)]() mutable { serve(std::move(sock)); });
    }
  }

  void serve(boost::asio::ip::tcp::socket sock) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(sock, buf, req, ec);
      if (ec) return;
      if (!answer(sock, req)) return;
    }
  }

  /// Writes the answer; false when the connection must close.
  template <class Sock, class Req>
  bool answer(Sock& sock, const Req& req) {
    namespace http = boost::beast::http;
    // As a proxy is asked (absolute form, RFC 9112 3.2.2): served as if asked directly.
    std::string target(req.target());
    const std::string asked = target;
    if (target.starts_with("http://")) {
      const auto path = target.find('/', 7);
      target = path == std::string::npos ? "/" : target.substr(path);
    }
    const std::string range(req[http::field::range]);
    const std::string auth(req[http::field::authorization]);
    {
      std::lock_guard lock(m_);
      requests_.push_back(fmt::format("{} {}{}{}", std::string(req.method_string()), asked,
                                      range.empty() ? "" : " Range: " + range, auth.empty() ? "" : " [auth]"));
    }
    auto reply = [&](unsigned status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
      http::response<http::string_body> res;
      res.version(11);
      res.result(status);
      for (const auto& [k, v] : headers) res.set(k, v);
      res.body() = std::move(body);
      res.prepare_payload();
      boost::beast::error_code ec;
      http::write(sock, res, ec);
      return !ec;
    };
    // A tunnel asked of the proxy leads back here: what comes through it
    // next (a TLS handshake) this plain-HTTP server refuses.
    if (req.method() == http::verb::connect) return reply(200, "");
    if (o_.fail_always) return reply(500, R"({"errors":[{"code":"UNKNOWN","message":"storage is down"}]})");
    if (target.starts_with("/token")) {
      if (!o_.token_user.empty() &&
          auth != "Basic " + runtime::image::base64_encode(o_.token_user + ":" + o_.token_password))
        return reply(401, R"({"details":"bad credentials"})");
      return reply(200, R"({"token":"tok-berth","expires_in":300})");
    }
    const std::string prefix = "/v2/" + o_.name + "/";
    if (target.starts_with("/storage/")) return blob(sock, target.substr(9), range, reply);
    if (!target.starts_with(prefix)) return reply(404, R"({"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]})");
    if (o_.bearer && auth != "Bearer tok-berth")
      return reply(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
                   {{"WWW-Authenticate",
                     fmt::format(R"(Bearer realm="http://{}/token",service="fake",scope="repository:{}:pull")", host(), o_.name)}});
    const std::string rest = target.substr(prefix.size());
    if (rest.starts_with("manifests/")) {
      std::string which = rest.substr(10);
      if (auto it = o_.manifests.find(which); it != o_.manifests.end())
        return reply(200, it->second.second, {{"Content-Type", it->second.first}});
      if (which == "latest") which = manifest_digest_;
      auto text = core::read_file(o_.layout / "blobs" / "sha256" / which.substr(std::min<std::size_t>(7, which.size())));
      if (!which.starts_with("sha256:") || !text)
        return reply(404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
      return reply(200, *text, {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}, {"Docker-Content-Digest", which}});
    }
    if (rest.starts_with("blobs/")) {
      if (o_.redirect_blobs) return reply(307, "", {{"Location", fmt::format("http://{}/storage/{}", host(), rest.substr(6))}});
      return blob(sock, rest.substr(6), range, reply);
    }
    return reply(404, "{}");
  }

  template <class Sock, class Reply>
  bool blob(Sock& sock, const std::string& digest, const std::string& range, Reply& reply) {
    std::string bytes;
    if (auto it = o_.replace_blobs.find(digest); it != o_.replace_blobs.end()) bytes = it->second;
    else if (auto text = core::read_file(o_.layout / "blobs" / "sha256" / digest.substr(std::min<std::size_t>(7, digest.size()))))
      bytes = std::move(*text);
    else
      return reply(404, R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]})");
    std::int64_t from = 0;
    if (!range.empty() && !o_.ignore_range) from = std::stoll(range.substr(6));
    const bool first = [&] {
      std::lock_guard lock(m_);
      return broken_.insert(digest).second;
    }();
    std::string head = fmt::format("HTTP/1.1 {}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n",
                                   from > 0 ? "206 Partial Content" : "200 OK", bytes.size() - static_cast<std::size_t>(from));
    if (from > 0) head += fmt::format("Content-Range: bytes {}-{}/{}\r\n", from, bytes.size() - 1, bytes.size());
    head += "\r\n";
    std::string_view body = std::string_view(bytes).substr(static_cast<std::size_t>(from));
    const bool cut = o_.break_after > 0 && first && static_cast<std::int64_t>(body.size()) > o_.break_after;
    if (cut) body = body.substr(0, static_cast<std::size_t>(o_.break_after));
    boost::system::error_code ec;
    boost::asio::write(sock, boost::asio::buffer(head), ec);
    boost::asio::write(sock, boost::asio::buffer(body.data(), body.size()), ec);
    {
      std::lock_guard lock(m_);
      sent_[digest] += static_cast<std::int64_t>(body.size());
    }
    if (cut && o_.hang_after_break) {
      char c;
      while (!ec) sock.read_some(boost::asio::buffer(&c, 1), ec);  // until the client is gone
      return false;
    }
    if (cut) {
      sock.shutdown(boost::asio::socket_base::shutdown_both, ec);
      return false;
    }
    return !ec;
  }

  FakeRegistryOptions o_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::string manifest_digest_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::vector<std::thread> connections_;
  std::mutex m_;
  std::vector<std::string> requests_;
  std::map<std::string, std::int64_t> sent_;
  std::set<std::string> broken_;
};

}  // namespace berth::test
