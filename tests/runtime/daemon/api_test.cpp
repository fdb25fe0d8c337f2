// SPDX-License-Identifier: Apache-2.0
// berthd's /v1 endpoints answered over a real unix socket, as a client
// (berthctl, curl --unix-socket) sees them.
#include "berth/runtime/daemon/routes.hpp"

#include "berth/core/fs.hpp"

#include "api_server.hpp"
#include "fake_workloads.hpp"

#include <fmt/format.h>

#include <cctype>
#include <set>
#include <sstream>

using namespace berth;
using namespace berth::runtime;
using namespace berth::runtime::daemon;
using test::json_of;

namespace {

struct Served : test::ApiServer {
  std::shared_ptr<test::FakeWorkloads> fake = std::make_shared<test::FakeWorkloads>(image::Store::open(dir.path / "store").value());
  test::FakeWorkloads& workloads = *fake;
  Served() {
    // Blocking work runs at once here: the fake never blocks.
    Post post = [](std::function<void()> fn) { fn(); };
    add_system_routes(router, {.version = "0.1.0", .commit = "abc123", .build_date = "2026-12-02"});
    add_image_routes(router, fake, post);
    add_container_routes(router, fake, post);
    serve();
  }
  core::http::Response post(std::string target, std::string body) {
    auto r = core::http::request(socket, {.method = "POST", .target = std::move(target), .body = std::move(body)});
    REQUIRE(r);
    return *r;
  }
};

std::string error_message(const core::http::Response& r) {
  return std::string(json_of(r).at("error").at("message").as_string());
}

}  // namespace

TEST_CASE("ping, version and images answer over the socket in nyxd's shapes", "[daemon][api]") {
  Served api;
  auto ping = api.ask("GET", "/v1/ping");
  CHECK(ping.status == 200);
  CHECK(json_of(ping) == boost::json::parse(R"({"ok":true})"));
  CHECK(json_of(api.ask("GET", "/v1/version")) ==
        boost::json::parse(R"({"daemon":"berthd","version":"0.1.0","commit":"abc123","buildDate":"2026-12-02"})"));
  CHECK(json_of(api.ask("GET", "/v1/images")) == boost::json::parse(R"({"images":[],"items":[]})"));
}

TEST_CASE("bad requests get a JSON error each and the server goes on", "[daemon][api][bad-input]") {
  Served api;
  auto unknown = api.ask("GET", "/v1/unknown");
  CHECK(unknown.status == 404);
  CHECK(json_of(unknown).at("error").at("code") == "not_found");
  auto method = api.ask("DELETE", "/v1/ping");
  CHECK(method.status == 405);
  CHECK(method.header("Allow") == "GET");
  CHECK(api.ask("GET", "/v1/images?x=%zz").status == 400);
  CHECK(api.ask("GET", "/v1/ping").status == 200);
}

TEST_CASE("the OpenAPI file names exactly the endpoints berthd serves", "[daemon][api]") {
  Served api;
  std::set<std::string> served;
  for (auto& r : api.router.routes()) served.insert(r);
  // paths:  "  /v1/x:" then its methods "    get:"
  std::set<std::string> documented;
  std::istringstream in(core::read_file(BERTH_OPENAPI).value());
  std::string path;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("  /") && line.ends_with(":")) path = line.substr(2, line.size() - 3);
    else if (!line.starts_with("    ") && !line.starts_with("  /")) path.clear();
    for (const char* m : {"get", "post", "put", "delete"})
      if (!path.empty() && line == fmt::format("    {}:", m)) {
        std::string method(m);
        for (auto& ch : method) ch = static_cast<char>(std::toupper(ch));
        documented.insert(method + " " + path);
      }
  }
  CHECK(documented == served);
}

TEST_CASE("a run, its state, stop, wait and remove answer in the API's shapes", "[daemon][api]") {
  Served api;
  api.workloads.exit_code = 3;
  auto run = api.post("/v1/containers/run", R"({"id":"web","image":"busybox","args":["httpd","-f"],"publish":["8080:80"]})");
  REQUIRE(run.status == 200);
  CHECK(json_of(run) == boost::json::parse(R"({"ok":true,"id":"web","image":"busybox"})"));
  auto again = api.post("/v1/containers/run", R"({"id":"web","image":"busybox"})");
  CHECK(again.status == 409);
  CHECK(json_of(again).at("error").at("code") == "conflict");
  CHECK(json_of(api.ask("GET", "/v1/containers")) == boost::json::parse(R"({"containers":["web"]})"));
  auto web = json_of(api.ask("GET", "/v1/containers/web")).as_object();
  CHECK(web.at("status") == "running");
  CHECK(web.at("ports") == boost::json::parse(R"(["0.0.0.0:8080->80/tcp"])"));
  CHECK(web.at("config").at("args") == boost::json::parse(R"(["httpd","-f"])"));
  auto detail = json_of(api.ask("GET", "/v1/containers?detail=1")).as_object();
  CHECK(detail.at("items").as_array().at(0) == web);
  CHECK(api.post("/v1/containers/web/remove", "").status == 409);
  auto stop = api.post("/v1/containers/web/stop?t=1", "");
  CHECK(json_of(stop) == boost::json::parse(R"({"ok":true,"id":"web","exit_code":3})"));
  // The list's JSON follows the change (it is kept only while the state's version stands).
  auto after = json_of(api.ask("GET", "/v1/containers?detail=1")).as_object();
  CHECK(after.at("items").as_array().at(0).at("status") == "stopped");
  CHECK(after.at("items").as_array().at(0) == json_of(api.ask("GET", "/v1/containers/web")));
  CHECK(json_of(api.post("/v1/containers/web/wait", "")) == boost::json::parse(R"({"id":"web","exit_code":3})"));
  CHECK(json_of(api.post("/v1/containers/web/remove", "")) == boost::json::parse(R"({"ok":true,"id":"web"})"));
  CHECK(api.ask("GET", "/v1/containers/web").status == 404);
}

TEST_CASE("a streamed run answers NDJSON events ending with the run", "[daemon][api]") {
  Served api;
  auto run = api.post("/v1/containers/run", R"({"id":"s","image":"busybox","stream":true})");
  REQUIRE(run.status == 200);
  CHECK(run.header("Content-Type") == "application/x-ndjson");
  std::vector<boost::json::value> lines;
  std::istringstream in(run.body);
  for (std::string line; std::getline(in, line);) lines.push_back(boost::json::parse(line));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].at("phase") == "pull");
  CHECK(lines[1] == boost::json::parse(R"({"phase":"run","ok":true,"container_id":"s","id":"s","image":"busybox"})"));
}

TEST_CASE("bad request bodies are 400 with the field named, and the server goes on", "[daemon][api][bad-input]") {
  Served api;
  struct Case {
    const char* body;
    const char* message;
  };
  for (auto [body, message] : {
           Case{"{", "the request body is not JSON: incomplete JSON"},
           Case{"[]", "the request body must be a JSON object"},
           Case{R"({"image":"busybox","colour":"red"})", "unknown field 'colour'"},
           Case{R"({"args":["x"]})", "field 'image' is required"},
           Case{R"({"image":"busybox","args":"ls"})", "field 'args' must be an array of strings"},
           Case{R"({"image":"busybox","id":"bad name"})",
                "field 'id' container id 'bad name' must be 1 to 128 letters, digits, '-', '_' or '.'"},
           Case{R"({"image":"busybox","publish":["99999:80"]})", nullptr},
           Case{R"({"image":"busybox","restart":"sometimes"})",
                "field 'restart' restart policy 'sometimes' is not no, on-failure[:N], always or unless-stopped"},
           Case{R"({"image":"busybox","healthcheck":{"type":"http"}})", "field 'healthcheck.url' is needed for an http check"},
           Case{R"({"image":"busybox","healthcheck":{"type":"exec","command":["true"],"interval":"soon"}})", nullptr},
           Case{R"({"image":"busybox","volumes":["data:/data"]})", nullptr},
           Case{R"({"image":"busybox","ports":[{"hostPort":80}]})", "field 'ports[0].hostPort' and containerPort are both needed"},
       }) {
    INFO(body);
    auto r = api.post("/v1/containers/run", body);
    CHECK(r.status == 400);
    CHECK(json_of(r).at("error").at("code") == "invalid_argument");
    if (message) CHECK(error_message(r) == message);
  }
  CHECK(api.post("/v1/containers/nobody/stop", "").status == 404);
  CHECK(error_message(api.post("/v1/containers/nobody/kill", "")) == "no such container 'nobody'");
  CHECK(api.post("/v1/containers/x/kill", R"({"signal":"SIGNOPE"})").status == 400);
  CHECK(api.post("/v1/containers/x/stop", R"({"grace":1})").status == 400);
  CHECK(api.post("/v1/containers/x/stop?t=forever", "").status == 400);
  CHECK(api.ask("GET", "/v1/containers/x/logs?tail=-1").status == 400);
  CHECK(api.post("/v1/images/pull", "{}").status == 400);
  CHECK(api.post("/v1/images/load", R"({"path":"relative.tar"})").status == 400);
  CHECK(api.ask("DELETE", "/v1/containers/run").status == 405);
  // A body of 10 MB is refused before it is read whole.
  auto big = api.post("/v1/containers/run", std::string(10 << 20, ' '));
  CHECK(big.status == 413);
  CHECK(api.ask("GET", "/v1/ping").status == 200);
}

TEST_CASE("exec answers the command's exit code and output, and refuses what is wrong", "[daemon][api]") {
  Served api;
  api.workloads.exit_code = 3;
  REQUIRE(api.post("/v1/containers/run", R"({"id":"web","image":"busybox"})").status == 200);
  auto ran = api.post("/v1/containers/web/exec", R"({"cmd":["echo","hi"],"timeout":"5s"})");
  REQUIRE(ran.status == 200);
  CHECK(json_of(ran) == boost::json::parse(
                            R"({"ok":true,"id":"web","exit_code":3,"stdout":"ran echo hi\n","stderr":"","truncated":false})"));
  CHECK(api.post("/v1/containers/web/exec", R"({"cmd":[]})").status == 400);
  CHECK(api.post("/v1/containers/web/exec", R"({"cmd":["x"],"tty":true})").status == 400);
  CHECK(api.post("/v1/containers/web/exec", R"({"cmd":["x"],"timeout":"soon"})").status == 400);
  CHECK(api.post("/v1/containers/web/exec", "").status == 400);
  CHECK(api.post("/v1/containers/nope/exec", R"({"cmd":["x"]})").status == 404);
  REQUIRE(api.post("/v1/containers/web/stop", "").status == 200);
  auto stopped = api.post("/v1/containers/web/exec", R"({"cmd":["x"]})");
  CHECK(stopped.status == 409);
  CHECK(json_of(stopped).at("error").at("code") == "conflict");
}
