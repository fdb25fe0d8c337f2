// SPDX-License-Identifier: Apache-2.0
// Pulling from Debian's docker-registry on 127.0.0.1 (in the test's own
// network namespace): plain HTTP, and TLS with htpasswd Basic authentication;
// the image pushed there by skopeo from the tests' image, which then runs.
#include "berth/core/fs.hpp"
#include "berth/runtime/container/containers.hpp"
#include "berth/runtime/container/log.hpp"
#include "berth/runtime/image/manifest.hpp"
#include "berth/runtime/image/pull.hpp"

#include "berth_catch.hpp"
#include "fake_registry.hpp"
#include "registry.hpp"
#include "temp_dir.hpp"
#include "test_image.hpp"

#include <csignal>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

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

  // And it runs as the image it was: its user, its deleted file, the exit code.
  namespace ct = runtime::container;
  auto containers = ct::Containers::open({.base = base.path, .state = base.path / "runc", .monitor = BERTH_MONITOR}).value();
  REQUIRE(containers.create(store, {"pulled", img->name,
                                    {.command = {"/bin/sh", "-c", "id -u; test -e /etc/motd || echo motd-gone; exit 7"}}}));
  REQUIRE(containers.start("pulled"));
  CHECK(containers.wait("pulled", std::chrono::seconds(20)).value() == 7);
  std::string out;
  for (const auto& e : ct::read_log(containers.state("pulled").value().log).value())
    if (e.stream == "stdout") out += e.text;
  CHECK(out == "101\nmotd-gone\n");
  REQUIRE(containers.remove("pulled"));

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

namespace {

/// The digest of the test image's largest layer (the base, with busybox).
std::string base_layer(const std::filesystem::path& layout) {
  std::string best;
  std::uintmax_t size = 0;
  for (const auto& e : std::filesystem::directory_iterator(layout / "blobs" / "sha256"))
    if (e.file_size() > size) {
      size = e.file_size();
      best = "sha256:" + e.path().filename().string();
    }
  return best;
}

bool saw(const std::vector<std::string>& requests, const std::string& part) {
  return std::any_of(requests.begin(), requests.end(), [&](const auto& r) { return r.find(part) != std::string::npos; });
}

}  // namespace

TEST_CASE("Bearer tokens come from the registry's token endpoint, with Docker's credentials", "[image][pull][fake]") {
  test::TestImage image;
  test::FakeRegistry fake({.layout = image.oci(), .bearer = true, .token_user = "alice", .token_password = "pw"});
  test::TempDir base, conf;
  auto store = Store::open(base.path).value();
  auto ref = parse_reference(fake.host() + "/team/app:latest").value();
  REQUIRE(core::write_file_atomic(conf.path / "config.json",
                                  fmt::format(R"({{"auths":{{"{}":{{"auth":"{}"}}}}}})", fake.host(), base64_encode("alice:pw"))));
  auto img = pull(store, ref, {.docker_config = conf.path / "config.json"});
  REQUIRE(img);
  test::check_test_image(store, *img);
  auto seen = fake.requests();
  CHECK(saw(seen, "GET /token?service=fake&scope=repository%3Ateam%2Fapp%3Apull [auth]"));
  CHECK(saw(seen, "GET /v2/team/app/manifests/latest [auth]"));

  test::TempDir other;
  auto fresh = Store::open(other.path).value();
  auto refused = pull(fresh, ref);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message(), Catch::Contains("HTTP 401 (no credentials)"));
}

TEST_CASE("a download that breaks is taken up where it stopped", "[image][pull][fake]") {
  test::TestImage image;
  const std::string layer = base_layer(image.oci());
  const auto size = static_cast<std::int64_t>(std::filesystem::file_size(image.oci() / "blobs" / "sha256" / layer.substr(7)));
  // After a pull that did not finish: nothing named, and the next one asks
  // for the rest of the layer only.
  auto next_pull_takes_up = [&](const Store& store, const Reference& ref, test::FakeRegistry& fake) {
    CHECK(store.images().value().empty());
    auto second = pull(store, ref);
    REQUIRE(second);
    test::check_test_image(store, *second);
    CHECK(saw(fake.requests(), "/blobs/" + layer + " Range: bytes=100000-"));
    CHECK(fake.sent(layer) == size);
  };
  SECTION("in the same pull") {
    test::FakeRegistry fake({.layout = image.oci(), .break_after = 100000});
    test::TempDir base;
    auto store = Store::open(base.path).value();
    auto img = pull(store, parse_reference(fake.host() + "/team/app:latest").value(), {.backoff = std::chrono::milliseconds(10)});
    REQUIRE(img);
    test::check_test_image(store, *img);
    CHECK(saw(fake.requests(), "/blobs/" + layer + " Range: bytes=100000-"));
    CHECK(fake.sent(layer) == size);  // nothing sent twice
  }
  SECTION("by the next pull, after one that gave up") {
    test::FakeRegistry fake({.layout = image.oci(), .break_after = 100000});
    test::TempDir base;
    auto store = Store::open(base.path).value();
    auto ref = parse_reference(fake.host() + "/team/app:latest").value();
    auto first = pull(store, ref, {.attempts = 1});
    REQUIRE_FALSE(first);
    next_pull_takes_up(store, ref, fake);
  }
  SECTION("by the next pull, after one that was killed halfway") {
    test::FakeRegistry fake({.layout = image.oci(), .break_after = 100000, .hang_after_break = true});
    test::TempDir base;
    auto store = Store::open(base.path).value();
    auto ref = parse_reference(fake.host() + "/team/app:latest").value();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      auto s = Store::open(base.path);
      ::_exit(s && pull(*s, ref) ? 0 : 1);
    }
    // Killed once the first 100 000 bytes of the layer are on disk.
    const auto partial = store.partial_path(layer);
    for (int i = 0; i < 2000; ++i) {
      std::error_code ec;
      if (std::filesystem::file_size(partial, ec) == 100000) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(child, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    next_pull_takes_up(store, ref, fake);
  }
  SECTION("from a registry that ignores Range") {
    test::FakeRegistry fake({.layout = image.oci(), .break_after = 100000, .ignore_range = true});
    test::TempDir base;
    auto store = Store::open(base.path).value();
    auto img = pull(store, parse_reference(fake.host() + "/team/app:latest").value(), {.backoff = std::chrono::milliseconds(10)});
    REQUIRE(img);
    test::check_test_image(store, *img);
  }
}

TEST_CASE("blobs redirected to storage elsewhere are followed", "[image][pull][fake]") {
  test::TestImage image;
  test::FakeRegistry fake({.layout = image.oci(), .redirect_blobs = true});
  test::TempDir base;
  auto store = Store::open(base.path).value();
  auto img = pull(store, parse_reference(fake.host() + "/team/app:latest").value());
  REQUIRE(img);
  test::check_test_image(store, *img);
  CHECK(saw(fake.requests(), "GET /storage/sha256:"));
}

namespace {
/// Sets environment variables for one test and puts back what was there.
struct ScopedEnv {
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  void set(const std::string& k, const char* v) {
    const char* old = std::getenv(k.c_str());
    saved.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
    v ? ::setenv(k.c_str(), v, 1) : ::unsetenv(k.c_str());
  }
  ~ScopedEnv() {
    for (auto it = saved.rbegin(); it != saved.rend(); ++it)
      it->second ? ::setenv(it->first.c_str(), it->second->c_str(), 1) : ::unsetenv(it->first.c_str());
  }
};
}  // namespace

TEST_CASE("the environment's proxies (HTTPS_PROXY, http_proxy) are used, and NO_PROXY passes them by", "[image][pull][fake]") {
  test::TestImage image;
  test::FakeRegistry proxy({.layout = image.oci()});  // answers as the proxy would, from the registry
  test::TempDir base;
  auto store = Store::open(base.path).value();
  // A registry name that does not resolve: only the proxy can reach it.
  const auto ref = parse_reference("registry.invalid:5000/team/app:latest").value();
  const PullOptions options{.insecure_registries = {"registry.invalid:5000"}, .attempts = 1};
  ScopedEnv env;
  for (const char* k : {"no_proxy", "NO_PROXY", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"}) env.set(k, nullptr);
  env.set("HTTPS_PROXY", ("http://" + proxy.host()).c_str());
  env.set("http_proxy", ("http://" + proxy.host()).c_str());
  auto img = pull(store, ref, options);
  REQUIRE(img);
  test::check_test_image(store, *img);
  // HTTPS first, through a tunnel; the registry speaks no TLS, and being
  // named insecure it is asked again over HTTP, through the proxy again.
  CHECK(saw(proxy.requests(), "CONNECT registry.invalid:5000"));
  CHECK(saw(proxy.requests(), "GET http://registry.invalid:5000/v2/team/app/manifests/latest"));

  env.set("NO_PROXY", "registry.invalid");
  const auto asked = proxy.requests().size();
  test::TempDir other;
  auto direct = pull(Store::open(other.path).value(), ref, options);
  REQUIRE_FALSE(direct);
  CHECK_THAT(direct.error().message(), Catch::Contains("registry.invalid"));
  CHECK(proxy.requests().size() == asked);
}

TEST_CASE("a registry that fails or lies gets bounded tries and names nothing", "[image][pull][fake][bad-input]") {
  test::TestImage image;
  test::TempDir base;
  auto store = Store::open(base.path).value();
  SECTION("500 for ever") {
    test::FakeRegistry fake({.layout = image.oci(), .fail_always = true});
    auto r = pull(store, parse_reference(fake.host() + "/team/app:latest").value(),
                  {.attempts = 3, .backoff = std::chrono::milliseconds(10)});
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("HTTP 500 (UNKNOWN: storage is down)"));
    CHECK(fake.requests().size() == 3);
  }
  SECTION("a layer that is not what its digest says") {
    const std::string layer = base_layer(image.oci());
    test::FakeRegistry fake({.layout = image.oci(), .replace_blobs = {{layer, std::string(5000, 'x')}}});
    auto r = pull(store, parse_reference(fake.host() + "/team/app:latest").value());
    REQUIRE_FALSE(r);
    CHECK_FALSE(store.has_blob(layer));
  }
  SECTION("an index whose image is an index again") {
    // A digest cannot name the document that holds it: a loop of indexes is
    // an index whose entry is another index. One level is all there is.
    const std::string inner = fmt::format(
        R"({{"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"sha256:{}","size":10,)"
        R"("platform":{{"os":"linux","architecture":"amd64"}}}}]}})",
        media::kOciIndex, media::kOciIndex, std::string(64, 'a'));
    const std::string inner_digest = sha256_digest(inner);
    const std::string outer = fmt::format(
        R"({{"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{}","size":{},)"
        R"("platform":{{"os":"linux","architecture":"amd64"}}}}]}})",
        media::kOciIndex, media::kOciIndex, inner_digest, inner.size());
    test::FakeRegistry fake({.layout = image.oci(),
                             .manifests = {{"loop", {std::string(media::kOciIndex), outer}},
                                           {inner_digest, {std::string(media::kOciIndex), inner}}}});
    auto r = pull(store, parse_reference(fake.host() + "/team/app:loop").value());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("'config' is missing"));
  }
  SECTION("a manifest of 10 000 layers") {
    std::string layers;
    for (int i = 0; i < 10000; ++i)
      layers += fmt::format(R"({}{{"mediaType":"{}","digest":"{}","size":10}})", i ? "," : "", media::kOciLayerGzip,
                            sha256_digest(std::to_string(i)));
    const std::string huge = fmt::format(R"({{"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":2}},)"
                                         R"("layers":[{}]}})",
                                         media::kOciManifest, media::kOciConfig, sha256_digest("{}"), layers);
    test::FakeRegistry fake({.layout = image.oci(), .manifests = {{"huge", {std::string(media::kOciManifest), huge}}}});
    auto r = pull(store, parse_reference(fake.host() + "/team/app:huge").value());
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("10000 entries, more than 128"));
    CHECK(fake.requests().size() == 1);  // refused before anything else was asked for
  }
  SECTION("a repository that is not there") {
    test::FakeRegistry fake({.layout = image.oci()});
    auto r = pull(store, parse_reference(fake.host() + "/team/other:latest").value());
    REQUIRE_FALSE(r);
    CHECK(r.error().is(core::Errc::not_found));
  }
  CHECK(store.images().value().empty());
  for (const auto& e : std::filesystem::directory_iterator(base.path / "layers"))
    CHECK_FALSE(e.path().filename().string().starts_with(".tmp-"));
}
