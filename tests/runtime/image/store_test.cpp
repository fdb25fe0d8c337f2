// SPDX-License-Identifier: Apache-2.0
// The image store: blobs visible only whole and verified, resumed writes,
// names in index.json, prune.
#include "berth/core/fs.hpp"
#include "berth/runtime/image/store.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <boost/json.hpp>

using namespace berth;
using namespace berth::runtime::image;

namespace {

/// Puts a minimal image (config + one layer blob) in the store and returns its manifest.
Descriptor put_image(const Store& s, const std::string& layer_bytes, const std::string& diff_id) {
  auto layer = s.put_blob(layer_bytes, media::kOciLayerGzip).value();
  const std::string config = R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[")" +
                             diff_id + R"("]}})";
  auto c = s.put_blob(config, media::kOciConfig).value();
  const std::string manifest = R"({"schemaVersion":2,"mediaType":")" + std::string(media::kOciManifest) +
                               R"(","config":)" + descriptor_json(c) + R"(,"layers":[)" + descriptor_json(layer) + "]}";
  return s.put_blob(manifest, media::kOciManifest).value();
}

}  // namespace

TEST_CASE("the store is an OCI image layout", "[image][store]") {
  test::TempDir tmp;
  auto s = Store::open(tmp.path / "berth").value();
  CHECK(core::read_file(s.layout() / "oci-layout").value() == R"({"imageLayoutVersion":"1.0.0"})");
  auto index = boost::json::parse(core::read_file(s.layout() / "index.json").value()).as_object();
  CHECK(index.at("schemaVersion") == 2);
  CHECK(index.at("manifests").as_array().empty());
  CHECK(Store::open(tmp.path / "berth"));  // again: nothing changes
}

TEST_CASE("a blob is visible only whole and verified", "[image][store]") {
  test::TempDir tmp;
  auto s = Store::open(tmp.path).value();
  const std::string data(100000, 'x');
  const std::string digest = sha256_digest(data);

  auto w = s.write_blob(digest, static_cast<std::int64_t>(data.size())).value();
  REQUIRE(w.write(std::string_view(data).substr(0, 40000)));
  CHECK_FALSE(s.has_blob(digest));
  auto early = w.commit();
  REQUIRE_FALSE(early);
  CHECK_THAT(early.error().message(), Catch::Contains("cut short at 40000 of 100000 bytes"));
  CHECK_FALSE(s.has_blob(digest));

  // A later writer (a pull started again) takes up where this one stopped.
  { auto drop = std::move(w); }
  auto again = s.write_blob(digest, static_cast<std::int64_t>(data.size())).value();
  CHECK(again.offset() == 40000);
  REQUIRE(again.write(std::string_view(data).substr(40000)));
  CHECK_FALSE(again.write("y"));  // more than announced
  REQUIRE(again.commit());
  CHECK(s.has_blob(digest));
  CHECK(core::read_file(s.blob_path(digest)).value() == data);
  CHECK(s.write_blob(digest, static_cast<std::int64_t>(data.size())).value().done());  // shared, not written twice
}

TEST_CASE("a blob that is not what its digest says never becomes visible", "[image][store]") {
  test::TempDir tmp;
  auto s = Store::open(tmp.path).value();
  const std::string claimed = sha256_digest("the real content");
  auto w = s.write_blob(claimed, 16).value();
  REQUIRE(w.write("a forged content"));
  auto r = w.commit();
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("its content has digest sha256:"));
  CHECK_FALSE(s.has_blob(claimed));
  CHECK(std::filesystem::is_empty(tmp.path / "ingest"));  // nothing of it stays

  // A blob changed on disk is caught when read.
  auto d = s.put_blob("{}", media::kOciConfig).value();
  REQUIRE(core::write_file_atomic(s.blob_path(d.digest), "{ }"));
  CHECK(s.read_blob(d.digest).error().is(core::Errc::corrupt));
  CHECK_FALSE(s.write_blob("sha256:xyz", 1));
}

TEST_CASE("names point at manifests in index.json", "[image][store]") {
  test::TempDir tmp;
  auto s = Store::open(tmp.path).value();
  const std::string diff = sha256_digest("layer");
  auto m = put_image(s, "layer-bytes", diff);
  REQUIRE(s.tag("docker.io/library/busybox:latest", m));
  REQUIRE(s.tag("docker.io/library/busybox:1", m));
  REQUIRE(s.tag("docker.io/library/busybox:latest", m));  // again: still one entry
  auto all = s.images().value();
  REQUIRE(all.size() == 2);
  auto found = s.find("docker.io/library/busybox:latest").value();
  REQUIRE(found);
  CHECK(found->manifest.digest == m.digest);
  CHECK(found->manifest.annotations.at(std::string(kRefName)) == "docker.io/library/busybox:latest");
  CHECK_FALSE(s.find("docker.io/library/nginx:latest").value());
  // Only what is in the store may be named.
  Descriptor missing = m;
  missing.digest = sha256_digest("nothing");
  CHECK(s.tag("x:1", missing).error().is(core::Errc::not_found));
  REQUIRE(s.untag("docker.io/library/busybox:1"));
  CHECK(s.untag("docker.io/library/busybox:1").error().is(core::Errc::not_found));
}

TEST_CASE("prune removes what no name reaches and leaves the rest", "[image][store]") {
  test::TempDir tmp;
  auto s = Store::open(tmp.path).value();
  const std::string kept_diff = sha256_digest("kept"), gone_diff = sha256_digest("gone");
  auto kept = put_image(s, "kept-layer", kept_diff);
  auto gone = put_image(s, "gone-layer", gone_diff);
  REQUIRE(s.tag("kept:1", kept));
  REQUIRE(s.tag("gone:1", gone));
  for (const auto& d : {kept_diff, gone_diff}) {
    auto scratch = s.layer_scratch(d).value();
    REQUIRE(core::write_file_atomic(scratch.path() / "file", d));
    REQUIRE(s.commit_layer(std::move(scratch), d));
    REQUIRE(s.layer_link(d));
  }
  auto loose = s.put_blob("loose", "application/octet-stream").value();
  REQUIRE(s.untag("gone:1"));

  auto report = s.prune().value();
  CHECK(report.blobs.size() == 4);  // gone's manifest, config and layer, and the loose blob
  CHECK(report.layers == std::vector<std::string>{gone_diff});
  CHECK_FALSE(s.has_blob(loose.digest));
  CHECK_FALSE(s.has_blob(gone.digest));
  CHECK(s.has_blob(kept.digest));
  CHECK(s.has_layer(kept_diff));
  CHECK_FALSE(s.has_layer(gone_diff));
  CHECK(std::filesystem::exists(s.layer_link(kept_diff).value()));
  CHECK(s.prune().value().blobs.empty());  // nothing more to do
}

TEST_CASE("prune keeps the layers a holder holds, whatever names are left", "[image][store]") {
  test::TempDir tmp;
  auto s = Store::open(tmp.path).value();
  const std::string diff = sha256_digest("held");
  auto img = put_image(s, "held-layer", diff);
  REQUIRE(s.tag("held:1", img));
  auto scratch = s.layer_scratch(diff).value();
  REQUIRE(s.commit_layer(std::move(scratch), diff));
  REQUIRE(s.hold("c1", {diff}));
  REQUIRE(s.hold("c2", {diff}));
  REQUIRE(s.untag("held:1"));
  CHECK(s.prune().value().layers.empty());
  CHECK(s.has_layer(diff));
  REQUIRE(s.release("c1"));
  CHECK(s.prune().value().layers.empty());  // c2 still holds it
  REQUIRE(s.release("c2"));
  REQUIRE(s.release("c2"));  // twice is fine
  CHECK(s.prune().value().layers == std::vector<std::string>{diff});
  CHECK_FALSE(s.has_layer(diff));
  // Bad input changes nothing.
  CHECK(s.hold("../x", {diff}).error().is(core::Errc::invalid_argument));
  CHECK(s.hold("c3", {"sha256:short"}).error().is(core::Errc::invalid_argument));
  CHECK(s.held_layers().value().empty());
}

TEST_CASE("a layer appears whole, and a scratch directory not committed goes", "[image][store]") {
  test::TempDir tmp;
  auto s = Store::open(tmp.path).value();
  const std::string diff = sha256_digest("x");
  std::filesystem::path left;
  {
    auto scratch = s.layer_scratch(diff).value();
    left = scratch.path();
    REQUIRE(core::write_file_atomic(left / "half", "unpacking"));
    CHECK_FALSE(s.has_layer(diff));
  }
  CHECK_FALSE(std::filesystem::exists(left));
  CHECK_FALSE(s.has_layer(diff));
  // Two writers of one layer: the first wins, the second's copy goes.
  auto a = s.layer_scratch(diff).value();
  auto b = s.layer_scratch(diff).value();
  REQUIRE(core::write_file_atomic(a.path() / "f", "a"));
  REQUIRE(core::write_file_atomic(b.path() / "f", "b"));
  const auto b_path = b.path();
  REQUIRE(s.commit_layer(std::move(a), diff));
  REQUIRE(s.commit_layer(std::move(b), diff));
  CHECK(core::read_file(s.layer_path(diff) / "f").value() == "a");
  CHECK_FALSE(std::filesystem::exists(b_path));
}
