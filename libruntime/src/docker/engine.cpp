// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/docker/engine.hpp"

#include "berth/core/http.hpp"

#include <fmt/format.h>

namespace berth::runtime::docker {
namespace {

using namespace std::chrono_literals;

class HttpEngine final : public Engine {
public:
  explicit HttpEngine(std::filesystem::path socket) : socket_(std::move(socket)) {}

  const std::filesystem::path& socket() const override { return socket_; }

  bool ping(std::chrono::milliseconds timeout) override {
    auto r = core::http::request(socket_, {.target = "/_ping"}, {.timeout = timeout});
    return r && r->status == 200 && r->body == "OK";
  }

  core::Result<std::vector<std::string>> list_containers() override {
    auto r = core::http::request(socket_, {.target = "/containers/json?all=1"}, {.timeout = 10s});
    if (!r) return std::move(r).error();
    if (r->status != 200) return unexpected("list containers", *r);
    return parse_container_list(r->body);
  }

  core::Result<void> remove_container(std::string_view id) override {
    if (!is_container_id(id))
      return core::make_error(core::Errc::invalid_argument, fmt::format("container id '{}' is not hexadecimal", id));
    auto r = core::http::request(socket_, {.method = "DELETE", .target = fmt::format("/containers/{}?force=1&v=1", id)},
                                 {.timeout = 60s});
    if (!r) return std::move(r).error();
    if (r->status != 204 && r->status != 404) return unexpected(fmt::format("remove container {}", id), *r);
    return {};
  }

private:
  /// dockerd explains a failure in {"message": "..."}; the status alone says little.
  static core::Error unexpected(const std::string& what, const core::http::Response& r) {
    std::string why;
    if (r.body.size() < 4096) {
      why = r.body;
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    }
    return core::make_error(core::Errc::protocol,
                            fmt::format("{}: HTTP {}{}{}", what, r.status, why.empty() ? "" : ": ", why));
  }

  std::filesystem::path socket_;
};

}  // namespace

std::unique_ptr<Engine> make_engine(const std::filesystem::path& socket) {
  return std::make_unique<HttpEngine>(socket);
}

}  // namespace berth::runtime::docker
