// SPDX-License-Identifier: Apache-2.0
// Image references as Docker users write them, normalised as Docker does.
#include "berth/runtime/image/reference.hpp"

#include "berth_catch.hpp"

using namespace berth::runtime::image;

TEST_CASE("references are normalised as Docker does", "[image][reference]") {
  struct Case {
    const char* text;
    const char* full;
    const char* familiar;
  };
  const std::string d = "sha256:" + std::string(64, 'a');
  const Case cases[] = {
      {"nginx", "docker.io/library/nginx:latest", "nginx:latest"},
      {"nginx:alpine", "docker.io/library/nginx:alpine", "nginx:alpine"},
      {"library/nginx", "docker.io/library/nginx:latest", "nginx:latest"},
      {"docker.io/nginx", "docker.io/library/nginx:latest", "nginx:latest"},
      {"index.docker.io/alice/app:1.2", "docker.io/alice/app:1.2", "alice/app:1.2"},
      {"alice/app", "docker.io/alice/app:latest", "alice/app:latest"},
      {"localhost/app", "localhost/app:latest", "localhost/app:latest"},
      {"localhost:5000/team/app:v1", "localhost:5000/team/app:v1", "localhost:5000/team/app:v1"},
      {"127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest"},
      {"registry.example.com/a/b/c", "registry.example.com/a/b/c:latest", "registry.example.com/a/b/c:latest"},
      {"[::1]:5000/app", "[::1]:5000/app:latest", "[::1]:5000/app:latest"},
      {"my_app-1.x__y", "docker.io/library/my_app-1.x__y:latest", "my_app-1.x__y:latest"},
      {"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"},  // a tag, as Docker reads it
      {"Reg.Example:443/app:TAG_1.0-x", "Reg.Example:443/app:TAG_1.0-x", "Reg.Example:443/app:TAG_1.0-x"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse_reference(c.text);
    REQUIRE(r);
    CHECK(r->to_string() == c.full);
    CHECK(r->familiar() == c.familiar);
  }
  auto pinned = parse_reference("busybox@" + d).value();
  CHECK(pinned.tag.empty());
  CHECK(pinned.digest == d);
  CHECK(pinned.to_string() == "docker.io/library/busybox@" + d);
  auto both = parse_reference("localhost:5000/busybox:1@" + d).value();
  CHECK(both.domain == "localhost:5000");
  CHECK(both.path == "busybox");
  CHECK(both.tag == "1");
  CHECK(both.digest == d);
}

TEST_CASE("a bad reference is one error naming what is wrong", "[image][reference]") {
  struct Case {
    std::string text;
    const char* why;
  };
  const Case cases[] = {
      {"", "it is empty"},
      {"Nginx", "must be lowercase"},
      {"nginx:", "the tag must be"},
      {"nginx:.x", "the tag must be"},
      {"nginx:" + std::string(129, 'a'), "the tag must be"},
      {"nginx@sha256:abc", "the digest is not sha256"},
      {"nginx@md5:" + std::string(32, 'a'), "the digest is not sha256"},
      {"a//b", "a path component is empty"},
      {"/nginx", "a path component is empty"},
      {"nginx/", "a path component is empty"},
      {"-nginx", "is not a path component"},
      {"ngi..nx", "is not a path component"},
      {"reg-.example/app", "is not a registry host"},
      {"reg.example:port/app", "is not a registry host"},
      {"ngi nx", "a space"},
      {"nginx\t", "a space"},
      {"a/" + std::string(300, 'b'), "longer than 255"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse_reference(c.text);
    REQUIRE_FALSE(r);
    CHECK(r.error().is(berth::core::Errc::invalid_argument));
    CHECK_THAT(r.error().message(), Catch::StartsWith("image reference '") && Catch::Contains(c.why));
    CHECK(r.error().message().find('\n') == std::string::npos);
  }
}
