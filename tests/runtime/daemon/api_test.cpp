// SPDX-License-Identifier: Apache-2.0
// berthd's /v1 endpoints answered over a real unix socket, as a client
// (berthctl, curl --unix-socket) sees them.
#include "berth/runtime/daemon/routes.hpp"

#include "berth/core/fs.hpp"

#include "api_server.hpp"

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
  image::Store images = image::Store::open(dir.path / "store").value();
  Served() {
    add_system_routes(router, {.version = "0.1.0", .commit = "abc123", .build_date = "2026-12-02"});
    add_image_routes(router, images);
    serve();
  }
};

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
  // Nothing runs here: any program stands in for the runtime and the monitor.
  auto c = container::Containers::open(
      {.base = api.dir.path, .state = api.dir.path / "runc", .runtime = "/bin/true", .monitor = "/bin/true"});
  REQUIRE(c);
  add_container_routes(api.router, *c);
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
