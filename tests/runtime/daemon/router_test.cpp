// SPDX-License-Identifier: Apache-2.0
// berthd's routes: what reaches a handler, and the JSON answers to what
// reaches none (unknown path, wrong method, a target that cannot be decoded).
#include "berth/runtime/daemon/api_error.hpp"
#include "berth/runtime/daemon/router.hpp"

#include "berth_catch.hpp"

#include <boost/json.hpp>

using namespace berth;
using namespace berth::runtime::daemon;

namespace {

/// A reply that keeps what was sent.
struct Kept : core::http::Reply {
  core::http::Response response;
  bool sent = false;
  void send(core::http::Response r) override {
    response = std::move(r);
    sent = true;
  }
  void start_stream(int, core::http::Headers) override {}
  bool write(std::string_view) override { return true; }
  void finish() override {}
  [[nodiscard]] bool closed() const override { return false; }
};

std::shared_ptr<Kept> ask(const Router& r, std::string method, std::string target) {
  auto kept = std::make_shared<Kept>();
  r.dispatch({.method = std::move(method), .target = std::move(target)}, kept);
  REQUIRE(kept->sent);
  return kept;
}

boost::json::object error_of(const Kept& k) {
  CHECK(k.response.header("Content-Type") == "application/json");
  return boost::json::parse(k.response.body).as_object().at("error").as_object();
}

Router sample(std::map<std::string, std::string>& params, std::map<std::string, std::string>& query) {
  Router r;
  auto keep = [&](ApiRequest req, std::shared_ptr<core::http::Reply> reply) {
    params = req.params;
    query = req.query;
    reply->send(json_response(200, "{}"));
  };
  r.add("GET", "/v1/containers", keep);
  r.add("GET", "/v1/containers/{id}", keep);
  r.add("POST", "/v1/containers/{id}/stop", keep);
  r.add("DELETE", "/v1/networks/{name}", keep);
  r.add("GET", "/v1/networks/{name}", keep);
  return r;
}

}  // namespace

TEST_CASE("a route gets its path parameters and query decoded", "[daemon][router]") {
  std::map<std::string, std::string> params, query;
  Router r = sample(params, query);
  CHECK(ask(r, "GET", "/v1/containers/web%5F1?tail=10&follow=1&x=a%20b&flag")->response.status == 200);
  CHECK(params == std::map<std::string, std::string>{{"id", "web_1"}});
  CHECK(query == std::map<std::string, std::string>{{"tail", "10"}, {"follow", "1"}, {"x", "a b"}, {"flag", ""}});
  CHECK(ask(r, "POST", "/v1/containers/db/stop")->response.status == 200);
  CHECK(params.at("id") == "db");
  CHECK(ask(r, "GET", "/v1/containers/")->response.status == 200);  // a trailing slash is the same path
  CHECK(params.empty());
}

TEST_CASE("what matches no route gets a JSON error, and the right one", "[daemon][router][bad-input]") {
  std::map<std::string, std::string> params, query;
  Router r = sample(params, query);
  auto unknown = ask(r, "GET", "/v1/nothing");
  CHECK(unknown->response.status == 404);
  CHECK(error_of(*unknown).at("code") == "not_found");
  CHECK(error_of(*unknown).at("message") == "no such endpoint: GET /v1/nothing");

  auto wrong = ask(r, "PUT", "/v1/networks/default");
  CHECK(wrong->response.status == 405);
  CHECK(wrong->response.header("Allow") == "DELETE, GET");
  CHECK(error_of(*wrong).at("code") == "method_not_allowed");

  const std::vector<std::string> bad_targets{"/v1/containers/a%2", "/v1/containers/a%zz", "/v1/containers?x=%00",
                                             "/v1/containers?=1", std::string("/v1/containers/a\0b", 18)};
  for (const auto& bad : bad_targets) {
    INFO(bad);
    auto b = ask(r, "GET", bad);
    CHECK(b->response.status == 400);
    CHECK(error_of(*b).at("code") == "invalid_argument");
  }
}

TEST_CASE("query flags are yes or no, or an error naming the parameter", "[daemon][router][bad-input]") {
  ApiRequest req;
  req.query = {{"detail", "1"}, {"all", "false"}, {"plain", ""}, {"bad", "maybe"}};
  CHECK(req.flag("detail").value());
  CHECK_FALSE(req.flag("all").value());
  CHECK(req.flag("plain").value());
  CHECK(req.flag("absent", true).value());
  CHECK_THAT(req.flag("bad").error().message(), Catch::Contains("query parameter 'bad': 'maybe'"));
}

TEST_CASE("library errors become statuses and codes a client can act on", "[daemon][api]") {
  using core::Errc;
  CHECK(api_error(core::make_error(Errc::invalid_argument, "x")).status == 400);
  CHECK(api_error(core::make_error(Errc::not_found, "no container 'web'")).status == 404);
  CHECK(api_error(core::make_error(Errc::conflict, "x")).status == 409);
  CHECK(api_error(core::make_error(Errc::already_exists, "x")).status == 409);
  CHECK(api_error(core::errno_error(EIO, "read")).status == 500);
  auto r = error_response(core::make_error(Errc::not_found, "no container 'web'"));
  CHECK(r.status == 404);
  CHECK(boost::json::parse(r.body) ==
        boost::json::parse(R"({"error":{"code":"not_found","message":"no container 'web'"}})"));
}
