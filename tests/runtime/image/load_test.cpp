// SPDX-License-Identifier: Apache-2.0
// Loading images made by Debian's umoci and skopeo from real files: an OCI
// layout, a docker save archive, an OCI archive; the store read back by the
// same tools; hostile archives refused with nothing left named.
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/runtime/image/load.hpp"

#include "berth_catch.hpp"
#include "layer_builder.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <boost/json.hpp>

#include <set>

#include <sys/stat.h>

using namespace berth;
using namespace berth::runtime::image;


TEST_CASE("an OCI layout, a docker save archive and an OCI archive load into one store", "[image][load]") {
  test::TestImage images;
  test::TempDir base;
  auto s = Store::open(base.path / "berth").value();

  std::set<std::string> progress;
  auto from_layout = load_images(s, images.oci(), {.name = "localhost/test:layout",
                                                   .progress = [&](std::string_view d, std::int64_t done, std::int64_t total) {
                                                     if (done == total) progress.emplace(d);
                                                   }});
  REQUIRE(from_layout);
  REQUIRE(from_layout->size() == 1);
  CHECK(from_layout->front().name == "localhost/test:layout");
  CHECK(progress.size() == 3);
  test::check_test_image(s, from_layout->front());

  auto from_docker = load_images(s, images.docker_tar());
  REQUIRE(from_docker);
  REQUIRE(from_docker->size() == 1);
  CHECK(from_docker->front().name == "docker.io/library/busybox:test");
  test::check_test_image(s, from_docker->front());

  auto from_oci_tar = load_images(s, images.oci_tar());
  REQUIRE(from_oci_tar);
  CHECK(from_oci_tar->front().name == "docker.io/library/busybox:1");
  test::check_test_image(s, from_oci_tar->front());
  // The OCI archive holds the same layers as the layout: shared, not stored twice.
  CHECK(from_oci_tar->front().manifest.digest == from_layout->front().manifest.digest);
  CHECK(s.images().value().size() == 3);

  // The store is an OCI layout the usual tools read as it is.
  auto inspect = core::run_checked(
      {.program = "skopeo", .args = {"inspect", "oci:" + s.layout().string() + ":docker.io/library/busybox:test"}});
  REQUIRE(inspect);
  auto j = boost::json::parse(inspect->out).as_object();
  CHECK(j.at("Layers").as_array().size() == 3);
  auto ls = core::run_checked({.program = "umoci", .args = {"ls", "--layout", s.layout().string()}});
  REQUIRE(ls);
  CHECK_THAT(ls->out, Catch::Contains("docker.io/library/busybox:1") && Catch::Contains("localhost/test:layout"));
  // Loading again changes nothing and writes nothing new.
  auto again = load_images(s, images.docker_tar());
  REQUIRE(again);
  CHECK(s.images().value().size() == 3);
}

TEST_CASE("a hostile archive is refused and nothing is named", "[image][load][bad-input]") {
  test::TempDir base;
  auto s = Store::open(base.path / "berth").value();
  auto archive = [&](const std::string& name, const std::map<std::string, std::string>& files) {
    test::LayerBuilder b(test::Compression::None);
    for (const auto& [path, data] : files) b.file(path, data);
    const auto p = base.path / name;
    REQUIRE(core::write_file_atomic(p, b.take()));
    return p;
  };
  // A docker save whose layer unpacks outside its directory.
  const std::string evil = test::LayerBuilder(test::Compression::None).file("../../escape", "x").take();
  const std::string diff = sha256_digest(evil);
  const std::string config = R"({"os":"linux","architecture":"amd64","config":{},"rootfs":{"type":"layers","diff_ids":[")" + diff + R"("]}})";
  auto escape = archive("escape.tar", {{"manifest.json", R"([{"Config":"c.json","RepoTags":["evil:1"],"Layers":["l/layer.tar"]}])"},
                                       {"c.json", config},
                                       {"l/layer.tar", evil}});
  auto r = load_images(s, escape);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("has a '..' component"));

  // A layer whose bytes are not what the config says.
  auto lie = archive("lie.tar", {{"manifest.json", R"([{"Config":"c.json","RepoTags":["lie:1"],"Layers":["l/layer.tar"]}])"},
                                 {"c.json", config},
                                 {"l/layer.tar", test::LayerBuilder(test::Compression::None).file("ok", "x").take()}});
  auto r2 = load_images(s, lie);
  REQUIRE_FALSE(r2);
  CHECK_THAT(r2.error().message(), Catch::Contains("digest"));

  auto none = archive("none.tar", {{"hello.txt", "hi"}});
  CHECK_THAT(load_images(s, none).error().message(), Catch::Contains("neither index.json"));
  auto garbage = base.path / "garbage";
  REQUIRE(core::write_file_atomic(garbage, std::string(4000, '\x01')));
  CHECK_FALSE(load_images(s, garbage));
  CHECK_FALSE(load_images(s, base.path / "missing.tar"));
  CHECK(s.images().value().empty());
  CHECK(std::filesystem::is_empty(s.base() / "layers"));
  CHECK_FALSE(std::filesystem::exists("/escape"));
}
