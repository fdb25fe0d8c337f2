// SPDX-License-Identifier: Apache-2.0
// Pulling from Debian's docker-registry on 127.0.0.1 (in the test's own
// network namespace): plain HTTP, and TLS with htpasswd Basic authentication;
// the image pushed there by skopeo from the tests' image.
#include "berth/runtime/image/pull.hpp"

#include "berth_catch.hpp"
#include "registry.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <mutex>
#include <set>

using namespace berth;
using namespace berth::runtime::image;

TEST_CASE("an image pulled from a registry is the image that was pushed", "[image][pull]") {
  test::TestImage image;
  test::Registry registry;
  registry.push(image.oci(), "team/busybox:1");
  test::TempDir base;
  auto store = Store::open(base.path).value();

  std::mutex m;
  std::set<std::string> finished;
  std::vector<std::string> said;
  PullOptions o{.progress = [&](std::string_view d, std::int64_t done, std::int64_t total) {
                  std::lock_guard lock(m);
                  CHECK(done <= total);
                  if (done == total) finished.emplace(d);
                },
                .status = [&](std::string_view s) { said.emplace_back(s); }};
  auto ref = parse_reference(registry.host() + "/team/busybox:1").value();
  auto img = pull(store, ref, o);
  REQUIRE(img);
  CHECK(img->name == registry.host() + "/team/busybox:1");
  test::check_test_image(store, *img);
  CHECK(finished.size() == 3);

  // Again: nothing is fetched twice.
  said.clear();
  auto again = pull(store, ref, o);
  REQUIRE(again);
  CHECK(std::count_if(said.begin(), said.end(), [](auto& s) { return s.find("already present") != std::string::npos; }) == 3);

  // Pinned by digest (what skopeo pushed is what the layout held).
  auto pinned = parse_reference(registry.host() + "/team/busybox@" + img->manifest.digest).value();
  auto by_digest = pull(store, pinned, o);
  REQUIRE(by_digest);
  CHECK(by_digest->manifest.digest == img->manifest.digest);

  auto missing = pull(store, parse_reference(registry.host() + "/team/busybox:2").value(), o);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().is(core::Errc::not_found));
  CHECK_THAT(missing.error().message(), Catch::Contains("MANIFEST_UNKNOWN"));
  auto wrong_digest = pull(store, parse_reference(registry.host() + "/team/busybox@sha256:" + std::string(64, '0')).value(), o);
  CHECK_FALSE(wrong_digest);
}

TEST_CASE("a TLS registry with Basic authentication takes Docker's credentials", "[image][pull]") {
  test::TestImage image;
  test::Registry registry({.tls = true, .user = "alice", .password = "s3cret"});
  registry.push(image.oci(), "private/busybox:1");
  test::TempDir base;
  auto store = Store::open(base.path).value();
  auto ref = parse_reference(registry.host() + "/private/busybox:1").value();

  auto img = pull(store, ref, {.docker_config = registry.docker_config("alice", "s3cret"), .ca_file = registry.cert()});
  REQUIRE(img);
  test::check_test_image(store, *img);

  test::TempDir other;
  auto fresh = Store::open(other.path).value();
  auto anonymous = pull(fresh, ref, {.ca_file = registry.cert()});
  REQUIRE_FALSE(anonymous);
  CHECK_THAT(anonymous.error().message(), Catch::Contains("wants a user and password"));
  auto wrong = pull(fresh, ref, {.docker_config = registry.docker_config("alice", "guess"), .ca_file = registry.cert()});
  REQUIRE_FALSE(wrong);
  CHECK_THAT(wrong.error().message(), Catch::Contains("HTTP 401"));
  // Its certificate is not one the system trusts: no silent fallback to plain HTTP.
  auto untrusted = pull(fresh, ref, {.docker_config = registry.docker_config("alice", "s3cret")});
  REQUIRE_FALSE(untrusted);
  CHECK_THAT(untrusted.error().message(), Catch::Contains("certificate"));
  CHECK(fresh.images().value().empty());
}
