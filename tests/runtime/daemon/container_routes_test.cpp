// SPDX-License-Identifier: Apache-2.0
// GET /v1/containers and /v1/containers/{id} over the socket, as root,
// with containers made by the library from a loaded image.
#include "berth/runtime/daemon/routes.hpp"
#include "berth/runtime/image/load.hpp"

#include "api_server.hpp"
#include "test_image.hpp"

using namespace berth;
using namespace berth::runtime;
using namespace berth::runtime::daemon;
using namespace std::chrono_literals;
using test::json_of;

TEST_CASE("containers are listed and inspected over the socket with their true state", "[daemon][api][container]") {
  test::TestImage image;
  test::ApiServer api;
  auto store = image::Store::open(api.dir.path / "images").value();
  REQUIRE(image::load_images(store, image.oci(), {.name = "busybox:test"}));
  auto cs = container::Containers::open({.base = api.dir.path, .state = api.dir.path / "runc", .monitor = BERTH_MONITOR}).value();
  REQUIRE(cs.create(store, {"done", "docker.io/library/busybox:test", {.command = {"/bin/sh", "-c", "exit 4"}}}));
  REQUIRE(cs.start("done"));
  REQUIRE(cs.wait("done", 20s).value() == 4);
  REQUIRE(cs.create(store, {"fresh", "docker.io/library/busybox:test", {.command = {"/bin/true"}}}));
  add_container_routes(api.router, cs);
  add_image_routes(api.router, store);
  api.serve();

  CHECK(json_of(api.ask("GET", "/v1/containers")) == boost::json::parse(R"({"containers":["done","fresh"]})"));
  auto detail = json_of(api.ask("GET", "/v1/containers?detail=1")).as_object();
  REQUIRE(detail.at("items").as_array().size() == 2);
  auto done = json_of(api.ask("GET", "/v1/containers/done")).as_object();
  CHECK(done.at("status") == "stopped");
  CHECK(done.at("exit_code") == 4);
  CHECK(done.at("image") == "docker.io/library/busybox:test");
  CHECK(done.at("pid").is_null());
  CHECK(detail.at("items").as_array().at(0) == done);
  auto fresh = json_of(api.ask("GET", "/v1/containers/fresh")).as_object();
  CHECK(fresh.at("status") == "created");
  CHECK(fresh.at("exit_code").is_null());
  auto images = json_of(api.ask("GET", "/v1/images")).as_object();
  CHECK(images.at("images") == boost::json::parse(R"(["docker.io/library/busybox:test"])"));

  auto missing = api.ask("GET", "/v1/containers/web");
  CHECK(missing.status == 404);
  CHECK(json_of(missing).at("error").at("message") == "no container 'web'");
  CHECK(api.ask("GET", "/v1/containers/bad%20name").status == 400);
  CHECK(api.ask("GET", "/v1/containers?detail=maybe").status == 400);
  REQUIRE(cs.remove("done"));
  REQUIRE(cs.remove("fresh"));
}
