// SPDX-License-Identifier: Apache-2.0
// Health checks' bookkeeping by Docker's rules, their URLs, and the status
// line of an HTTP probe's answer.
#include "berth/runtime/daemon/health.hpp"
#include "daemon/health_probe.hpp"

#include "berth_catch.hpp"

using namespace berth;
using namespace berth::runtime::daemon;
using namespace std::chrono_literals;

namespace {

ProbeResult at(std::int64_t ms, bool passed) {
  return {.start_ms = ms, .end_ms = ms + 1, .exit_code = passed ? 0 : 1, .output = passed ? "ok" : "no"};
}

}  // namespace

TEST_CASE("health is starting, then healthy on a pass, unhealthy after retries failures in a row", "[daemon][health]") {
  HealthCheck check{.kind = HealthCheck::Kind::Tcp, .port = 80, .retries = 2};
  HealthStatus s;
  CHECK(s.status == Health::Starting);
  record_probe(s, check, at(1000, false), 0);
  CHECK(s.status == Health::Starting);
  CHECK(s.failing_streak == 1);
  record_probe(s, check, at(2000, true), 0);
  CHECK(s.status == Health::Healthy);
  CHECK(s.failing_streak == 0);
  record_probe(s, check, at(3000, false), 0);
  CHECK(s.status == Health::Healthy);  // one failure is not enough
  record_probe(s, check, at(4000, false), 0);
  CHECK(s.status == Health::Unhealthy);
  record_probe(s, check, at(5000, true), 0);
  CHECK(s.status == Health::Healthy);
  for (int i = 0; i < 10; ++i) record_probe(s, check, at(6000 + i, true), 0);
  CHECK(s.log.size() == kProbeLogSize);  // the last five, oldest first
  CHECK(s.log.front().start_ms == 6005);
}

TEST_CASE("failures in the start period do not count until a probe has passed", "[daemon][health]") {
  HealthCheck check{.kind = HealthCheck::Kind::Exec, .command = {"true"}, .start_period = 10s, .retries = 1};
  HealthStatus s;
  record_probe(s, check, at(1000, false), 0);
  record_probe(s, check, at(2000, false), 0);
  CHECK(s.status == Health::Starting);
  CHECK(s.failing_streak == 0);
  record_probe(s, check, at(3000, true), 0);
  record_probe(s, check, at(4000, false), 0);  // started now: it counts
  CHECK(s.status == Health::Unhealthy);
  HealthStatus late;
  record_probe(late, check, at(11'000, false), 0);  // past the start period
  CHECK(late.status == Health::Unhealthy);
  // Output is kept short.
  record_probe(late, check, {.start_ms = 12'000, .exit_code = 1, .output = std::string(10'000, 'x')}, 0);
  CHECK(late.log.back().output.size() == kMaxProbeOutput);
}

TEST_CASE("health check URLs name the container, an IP, a port and a path", "[daemon][health]") {
  auto u = parse_health_url("/healthz").value();
  CHECK(u.host.empty());
  CHECK(u.port == 80);
  CHECK(u.path == "/healthz");
  u = parse_health_url(":8080/ready").value();
  CHECK(u.port == 8080);
  CHECK(u.path == "/ready");
  u = parse_health_url("http://{address}:9000").value();
  CHECK(u.host.empty());
  CHECK(u.port == 9000);
  CHECK(u.path == "/");
  CHECK(parse_health_url("http://localhost/x").value().host == "127.0.0.1");
  u = parse_health_url("http://[::1]:81/y?z=1").value();
  CHECK(u.host == "::1");
  CHECK(u.port == 81);
  CHECK(u.path == "/y?z=1");
}

TEST_CASE("a bad health check URL is refused with why", "[daemon][health][bad-input]") {
  auto why = [](std::string_view url) { return parse_health_url(url).error().message(); };
  CHECK_THAT(why("https://x/"), Catch::Contains("https is not supported"));
  CHECK_THAT(why("http://web/x"), Catch::Contains("a probe resolves no names"));
  CHECK_THAT(why("healthz"), Catch::Contains("not http://HOST[:PORT]/PATH"));
  CHECK_THAT(why(":0/x"), Catch::Contains("the port is not 1-65535"));
  CHECK_THAT(why(":99999/x"), Catch::Contains("the port is not 1-65535"));
  CHECK_THAT(why("http://10.0.0.1:/x"), Catch::Contains("the port is not 1-65535"));
  CHECK_THAT(why("/a b"), Catch::Contains("space or control character"));
  CHECK_THAT(why("http://[::1/x"), Catch::Contains("no ']'"));
}

TEST_CASE("an HTTP probe reads the status code of the answer's first line", "[daemon][health]") {
  CHECK(http_status("HTTP/1.1 200 OK\r\n") == 200);
  CHECK(http_status("HTTP/1.0 404 Not Found\r\nServer: x\r\n") == 404);
  CHECK(http_status("HTTP/1.1 204\r\n") == 204);
  CHECK_FALSE(http_status("HTTP/1.1 2000 OK\r\n"));
  CHECK_FALSE(http_status("SSH-2.0-OpenSSH\r\n"));
  CHECK_FALSE(http_status("HTTP/1.1 abc\r\n"));
  CHECK_FALSE(http_status("HTTP/1.1 099 x\r\n"));
  CHECK_FALSE(http_status(""));
}
