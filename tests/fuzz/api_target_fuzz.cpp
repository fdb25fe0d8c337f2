// SPDX-License-Identifier: Apache-2.0
// What a client of berthd's socket puts in a request line: its method and
// target, routed (path parameters and query percent-decoded) or refused.
#include "berth/runtime/daemon/router.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

struct Dropped : berth::core::http::Reply {
  bool sent = false;
  void send(berth::core::http::Response) override { sent = true; }
  void start_stream(int, berth::core::http::Headers) override {}
  bool write(std::string_view) override { return false; }
  void finish() override {}
  [[nodiscard]] bool closed() const override { return true; }
};

const berth::runtime::daemon::Router& router() {
  static const auto r = [] {
    berth::runtime::daemon::Router r;
    auto check = [](berth::runtime::daemon::ApiRequest req, std::shared_ptr<berth::core::http::Reply> reply) {
      for (const auto& [k, v] : req.params)
        if (v.empty() || v.find('\0') != std::string::npos) __builtin_trap();
      (void)req.flag("detail");
      reply->send({});
    };
    for (const char* p : {"/v1/ping", "/v1/containers", "/v1/containers/{id}", "/v1/containers/{id}/logs",
                          "/v1/networks/{name}"})
      for (const char* m : {"GET", "POST", "DELETE"}) r.add(m, p, check);
    return r;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  const auto space = text.find(' ');
  berth::core::http::Request req;
  req.method = text.substr(0, space);
  req.target = space == std::string::npos ? "/" : text.substr(space + 1);
  auto reply = std::make_shared<Dropped>();
  router().dispatch(req, reply);
  if (!reply->sent) __builtin_trap();  // every request is answered
  (void)berth::runtime::daemon::parse_query(text);
  return 0;
}
