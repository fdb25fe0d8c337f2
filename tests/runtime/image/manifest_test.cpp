// SPDX-License-Identifier: Apache-2.0
// The image documents as registries send them: what kind a document is,
// which manifest of an index a platform gets, and what is refused.
#include "berth/runtime/image/manifest.hpp"

#include "berth_catch.hpp"

#include <fmt/format.h>

using namespace berth::runtime::image;

namespace {

std::string digest_of(char c) { return "sha256:" + std::string(64, c); }

std::string entry(char c, std::string_view platform) {
  return fmt::format(R"({{"mediaType":"{}","digest":"{}","size":500,"platform":{}}})", media::kOciManifest, digest_of(c),
                     platform);
}

// Docker Hub's shape: two images and an attestation manifest per image.
const std::string kIndex = fmt::format(
    R"({{"schemaVersion":2,"mediaType":"{}","manifests":[{},{},{},{}]}})", media::kOciIndex,
    entry('a', R"({"os":"linux","architecture":"arm","variant":"v7"})"),
    entry('b', R"({"os":"linux","architecture":"arm64","variant":"v8"})"),
    entry('c', R"({"os":"linux","architecture":"amd64"})"), entry('d', R"({"os":"unknown","architecture":"unknown"})"));

std::string manifest_with(std::size_t layers) {
  std::string list;
  for (std::size_t i = 0; i < layers; ++i)
    list += fmt::format(R"({}{{"mediaType":"{}","digest":"{}","size":10}})", i ? "," : "", media::kOciLayerGzip,
                        digest_of("0123456789abcdef"[i % 16]));
  return fmt::format(R"({{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"{}","size":100}},"layers":[{}]}})",
                     media::kOciConfig, digest_of('f'), list);
}

}  // namespace

TEST_CASE("a document's kind comes from its media type, or its shape", "[image][manifest]") {
  CHECK(document_kind(kIndex).value() == DocumentKind::Index);
  CHECK(document_kind(manifest_with(1)).value() == DocumentKind::Manifest);  // no mediaType: its shape
  CHECK(document_kind(R"({"manifests":[]})", std::string(media::kDockerList) + "; charset=utf-8").value() ==
        DocumentKind::Index);
  CHECK(document_kind("{}", media::kDockerManifest).value() == DocumentKind::Manifest);
  auto schema1 = document_kind(R"({"schemaVersion":1})", "application/vnd.docker.distribution.manifest.v1+prettyjws");
  CHECK_THAT(schema1.error().message(), Catch::Contains("schema 1"));
  CHECK_THAT(document_kind("{}", "text/html").error().message(), Catch::Contains("unknown media type 'text/html'"));
  CHECK_FALSE(document_kind("<html>"));
}

TEST_CASE("a platform gets its own manifest from an index", "[image][manifest]") {
  auto index = parse_index(kIndex).value();
  REQUIRE(index.manifests.size() == 4);
  CHECK(select_platform(index, {}).value().digest == digest_of('c'));  // linux/amd64 by default
  CHECK(select_platform(index, parse_platform("linux/arm64").value()).value().digest == digest_of('b'));
  CHECK(select_platform(index, parse_platform("linux/arm64/v8").value()).value().digest == digest_of('b'));
  CHECK(select_platform(index, parse_platform("linux/arm/v7").value()).value().digest == digest_of('a'));
  auto none = select_platform(index, parse_platform("linux/s390x").value());
  CHECK(none.error().is(berth::core::Errc::not_found));
  CHECK_THAT(none.error().message(),
             Catch::Equals("no image for platform linux/s390x (the index has: linux/arm/v7, linux/arm64/v8, "
                           "linux/amd64, unknown/unknown)"));
  CHECK_FALSE(select_platform(index, parse_platform("linux/arm/v6").value()));
}

TEST_CASE("platforms are os/architecture[/variant]", "[image][manifest]") {
  CHECK(to_string(parse_platform("linux/arm64/v8").value()) == "linux/arm64/v8");
  for (const char* bad : {"", "linux", "linux/", "/amd64", "linux/amd64/v8/x", "Linux/AMD64", "linux/amd 64"})
    CHECK_THAT(parse_platform(bad).error().message(), Catch::Contains("is not os/architecture[/variant]"));
}

TEST_CASE("manifests list their layers base first, within bounds", "[image][manifest][bad-input]") {
  auto m = parse_manifest(manifest_with(3)).value();
  REQUIRE(m.layers.size() == 3);
  CHECK(m.layers[0].digest == digest_of('0'));
  CHECK(m.layers[2].digest == digest_of('2'));
  CHECK_THAT(parse_manifest(manifest_with(10000)).error().message(),
             Catch::Contains("'layers' lists 10000 entries, more than 128"));
  CHECK_THAT(parse_manifest(kIndex).error().message(), Catch::Contains("'config' is missing"));
  auto bad_digest = parse_manifest(R"({"config":{"mediaType":"x","digest":"sha256:12","size":1},"layers":[]})");
  CHECK_FALSE(bad_digest);
  auto negative = parse_manifest(fmt::format(R"({{"config":{{"mediaType":"x","digest":"{}","size":-1}},"layers":[]}})",
                                             digest_of('1')));
  CHECK_FALSE(negative);
  auto config_as_layer = parse_manifest(fmt::format(
      R"({{"config":{{"mediaType":"x","digest":"{0}","size":1}},"layers":[{{"mediaType":"y","digest":"{0}","size":1}}]}})",
      digest_of('1')));
  CHECK_THAT(config_as_layer.error().message(), Catch::Contains("a layer is the config blob"));
}

TEST_CASE("an image config gives what a container is made from", "[image][manifest]") {
  auto c = parse_image_config(fmt::format(
      R"({{"architecture":"amd64","os":"linux","config":{{"User":"101:101","Env":["PATH=/bin","A=1"],)"
      R"("Entrypoint":["/init"],"Cmd":["serve"],"WorkingDir":"/srv","StopSignal":"SIGQUIT",)"
      R"("ExposedPorts":{{"80/tcp":{{}}}},"Volumes":{{"/data":{{}}}},"Labels":{{"a":"b"}}}},)"
      R"("rootfs":{{"type":"layers","diff_ids":["{}"]}}}})",
      digest_of('9'))).value();
  CHECK(c.user == "101:101");
  CHECK(c.env == std::vector<std::string>{"PATH=/bin", "A=1"});
  CHECK(c.entrypoint == std::vector<std::string>{"/init"});
  CHECK(c.cmd == std::vector<std::string>{"serve"});
  CHECK(c.working_dir == "/srv");
  CHECK(c.stop_signal == "SIGQUIT");
  CHECK(c.exposed_ports == std::vector<std::string>{"80/tcp"});
  CHECK(c.volumes == std::vector<std::string>{"/data"});
  CHECK(c.labels.at("a") == "b");
  CHECK(c.diff_ids == std::vector<std::string>{digest_of('9')});
  CHECK_THAT(parse_image_config(R"({"rootfs":{"diff_ids":["sha256:x"]}})").error().message(),
             Catch::Contains("diff id 'sha256:x'"));
  CHECK_THAT(parse_image_config(R"({"config":{}})").error().message(), Catch::Contains("'rootfs' is missing"));
  CHECK_FALSE(parse_image_config(R"({"config":{"Env":"PATH=/bin"},"rootfs":{"diff_ids":[]}})"));
}
