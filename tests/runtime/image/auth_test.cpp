// SPDX-License-Identifier: Apache-2.0
// Registry authentication: the WWW-Authenticate challenge and Docker's config.json.
#include "berth/runtime/image/auth.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include "berth/core/fs.hpp"

using namespace berth;
using namespace berth::runtime::image;

TEST_CASE("WWW-Authenticate challenges are read as registries send them", "[image][auth]") {
  auto hub = parse_www_authenticate(
                 R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull")")
                 .value();
  REQUIRE(hub.size() == 1);
  CHECK(hub[0].scheme == "bearer");
  CHECK(hub[0].params.at("realm") == "https://auth.docker.io/token");
  CHECK(hub[0].params.at("service") == "registry.docker.io");
  CHECK(hub[0].params.at("scope") == "repository:library/nginx:pull");

  auto basic = parse_www_authenticate(R"(Basic realm="berth-test")").value();
  CHECK(basic.at(0).scheme == "basic");
  CHECK(basic.at(0).params.at("realm") == "berth-test");

  auto several = parse_www_authenticate(R"(Basic realm=x, BEARER Realm="r\"q", error=insufficient_scope)").value();
  REQUIRE(several.size() == 2);
  CHECK(several[0].params.at("realm") == "x");
  CHECK(several[1].scheme == "bearer");
  CHECK(several[1].params.at("realm") == "r\"q");
  CHECK(several[1].params.at("error") == "insufficient_scope");

  for (std::string_view bad : {"", "   ", R"(Bearer realm="never closed)", "=x", "Bearer realm=\"a\" @"}) {
    INFO(bad);
    CHECK_FALSE(parse_www_authenticate(bad));
  }
}

TEST_CASE("Docker's config.json gives the credentials for a registry", "[image][auth]") {
  const std::string alice = base64_encode("alice:pa:ss");
  auto all = parse_docker_config(R"({"auths":{
      "https://index.docker.io/v1/":{"auth":")" + alice + R"("},
      "registry.example:5000":{"username":"bob","password":"pw"},
      "helper.example":{},
      "localhost:5000":{"auth":""}},
    "credsStore":"desktop"})")
                 .value();
  CHECK(all.at("docker.io") == Credentials{"alice", "pa:ss"});
  CHECK(all.at("registry.example:5000") == Credentials{"bob", "pw"});
  CHECK_FALSE(all.count("helper.example"));
  CHECK(parse_docker_config("{}").value().empty());
  CHECK_FALSE(parse_docker_config("[]"));
  CHECK_FALSE(parse_docker_config(R"({"auths":{"x":{"auth":"not base64!"}}})"));
  CHECK_FALSE(parse_docker_config(R"({"auths":{"x":{"auth":")" + base64_encode("nocolon") + R"("}}})"));

  test::TempDir dir;
  CHECK_FALSE(credentials_for(dir.path / "none.json", "docker.io").value());  // no file: anonymous
  REQUIRE(core::write_file_atomic(dir.path / "config.json", R"({"auths":{"https://index.docker.io/v1/":{"auth":")" + alice + R"("}}})"));
  CHECK(credentials_for(dir.path / "config.json", "docker.io").value().value().username == "alice");
  CHECK_FALSE(credentials_for(dir.path / "config.json", "quay.io").value());
}

TEST_CASE("base64 round-trips and refuses what is not base64", "[image][auth]") {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    INFO(s);
    CHECK(base64_decode(base64_encode(s)).value() == s);
  }
  CHECK(base64_encode("alice:secret") == "YWxpY2U6c2VjcmV0");
  CHECK_FALSE(base64_decode("abc"));
  CHECK_FALSE(base64_decode("ab$="));
}
