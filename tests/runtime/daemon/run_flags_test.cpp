// SPDX-License-Identifier: Apache-2.0
// berthctl run's flags into the spec berthd is sent: Docker's meaning of
// each, and bad input refused with the flag named before anything is sent.
#include "berth/runtime/daemon/run_flags.hpp"

#include "berth_catch.hpp"

#include <map>

using namespace berth;
using namespace berth::runtime::daemon;

namespace {

struct Sources {
  std::map<std::string, std::string> env{{"FROM_HERE", "here"}};
  std::map<std::string, std::string> files{{"vars.env", "# comment\nA=1\nFROM_HERE\nMISSING\n"}};
  RunFlagSources get() const {
    return {.env = [this](const std::string& k) -> std::optional<std::string> {
              auto it = env.find(k);
              return it == env.end() ? std::nullopt : std::optional(it->second);
            },
            .read_file = [this](const std::string& p) -> core::Result<std::string> {
              auto it = files.find(p);
              if (it == files.end()) return core::make_error(core::Errc::not_found, "No such file or directory");
              return it->second;
            }};
  }
};

}  // namespace

TEST_CASE("run flags become the spec as Docker reads them", "[daemon][run-flags]") {
  Sources src;
  RunFlags f;
  f.image = "busybox:1";
  f.command = {"httpd", "-f"};
  f.name = "web";
  f.entrypoint = "/bin/sh";
  f.env_files = {"vars.env"};
  f.env = {"B=2", "FROM_HERE", "NOT_SET"};
  f.publish = {"8080:80", "127.0.0.1:53:53/udp"};
  f.volumes = {"/srv:/data:ro"};
  f.restart = "on-failure:2";
  f.memory = "64m";
  f.cpus = 0.5;
  f.labels = {"k=v", "flag"};
  f.auto_remove = true;
  auto s = spec_from_flags(f, src.get());
  REQUIRE(s);
  CHECK(s->image == "busybox:1");
  CHECK(s->args == std::vector<std::string>{"httpd", "-f"});
  CHECK(s->entrypoint == std::vector<std::string>{"/bin/sh"});
  // The file's first, then -e; a KEY alone is taken from here, or left out.
  CHECK(s->env == std::vector<std::string>{"A=1", "FROM_HERE=here", "B=2", "FROM_HERE=here"});
  REQUIRE(s->ports.size() == 2);
  CHECK(net::to_string(s->ports[1]) == "127.0.0.1:53->53/udp");
  REQUIRE(s->volumes.size() == 1);
  CHECK(s->restart == RestartPolicy{RestartPolicy::Kind::OnFailure, 2});
  CHECK(s->memory_bytes == 64 << 20);
  CHECK(s->cpus == 0.5);
  CHECK(s->labels == std::vector<std::pair<std::string, std::string>>{{"k", "v"}, {"flag", ""}});
  // --rm in the foreground is the client's; detached, the daemon's.
  CHECK_FALSE(s->auto_remove);
  f.detach = true;
  CHECK(spec_from_flags(f, src.get())->auto_remove);
}

TEST_CASE("a bad run flag is refused with its name", "[daemon][run-flags][bad-input]") {
  Sources src;
  auto refused = [&](auto change) {
    RunFlags f;
    f.image = "busybox";
    change(f);
    auto s = spec_from_flags(f, src.get());
    REQUIRE_FALSE(s);
    return s.error().message();
  };
  CHECK_THAT(refused([](RunFlags& f) { f.publish = {"80:99999"}; }), Catch::StartsWith("--publish"));
  CHECK_THAT(refused([](RunFlags& f) { f.volumes = {"relative:/data"}; }), Catch::StartsWith("--volume"));
  CHECK_THAT(refused([](RunFlags& f) { f.restart = "sometimes"; }), Catch::StartsWith("--restart"));
  CHECK_THAT(refused([](RunFlags& f) { f.memory = "lots"; }), Catch::StartsWith("--memory"));
  CHECK_THAT(refused([](RunFlags& f) { f.cpus = 0; }), Catch::StartsWith("--cpus"));
  CHECK_THAT(refused([](RunFlags& f) { f.env = {"=x"}; }), Catch::StartsWith("--env '=x'"));
  CHECK_THAT(refused([](RunFlags& f) { f.labels = {"=x"}; }), Catch::StartsWith("--label '=x'"));
  CHECK_THAT(refused([](RunFlags& f) { f.env_files = {"missing.env"}; }),
             Catch::StartsWith("--env-file 'missing.env': "));
  CHECK_THAT(refused([](RunFlags& f) { f.tty = true; }), Catch::Contains("-i and -t are not supported yet"));
}

TEST_CASE("the health flags make one check, Docker's --health-cmd through the shell", "[daemon][run-flags][health]") {
  Sources src;
  RunFlags f;
  f.image = "busybox";
  f.health_cmd = "wget -q -O /dev/null http://localhost/";
  f.health_interval = "2s";
  f.health_retries = 5;
  f.health_start_period = "0s";
  auto h = spec_from_flags(f, src.get()).value().healthcheck;
  CHECK(h.kind == HealthCheck::Kind::Exec);
  CHECK(h.command == std::vector<std::string>{"/bin/sh", "-c", "wget -q -O /dev/null http://localhost/"});
  CHECK(h.interval == std::chrono::seconds(2));
  CHECK(h.timeout == std::chrono::seconds(30));
  CHECK(h.retries == 5);
  RunFlags t;
  t.image = "busybox";
  t.health_tcp = 6379;
  CHECK(spec_from_flags(t, src.get()).value().healthcheck.port == 6379);
  RunFlags u;
  u.image = "busybox";
  u.health_http = ":8080/healthz";
  CHECK(spec_from_flags(u, src.get()).value().healthcheck.kind == HealthCheck::Kind::Http);
  RunFlags none;
  none.image = "busybox";
  CHECK(spec_from_flags(none, src.get()).value().healthcheck.kind == HealthCheck::Kind::None);

  auto refused = [&](auto change) {
    RunFlags g;
    g.image = "busybox";
    change(g);
    return spec_from_flags(g, src.get()).error().message();
  };
  CHECK_THAT(refused([](RunFlags& g) { g.health_cmd = "true"; g.health_tcp = 80; }), Catch::Contains("give one of them"));
  CHECK_THAT(refused([](RunFlags& g) { g.health_interval = "1s"; }), Catch::Contains("need --health-cmd"));
  CHECK_THAT(refused([](RunFlags& g) { g.health_tcp = 0; }), Catch::StartsWith("--health-tcp"));
  CHECK_THAT(refused([](RunFlags& g) { g.health_http = "http://web/"; }), Catch::StartsWith("--health-http"));
  CHECK_THAT(refused([](RunFlags& g) { g.health_cmd = "true"; g.health_timeout = "0s"; }),
             Catch::StartsWith("--health-timeout"));
  CHECK_THAT(refused([](RunFlags& g) { g.health_cmd = "true"; g.health_interval = "soon"; }),
             Catch::StartsWith("--health-interval"));
  CHECK_THAT(refused([](RunFlags& g) { g.no_healthcheck = true; g.health_tcp = 80; }),
             Catch::StartsWith("--no-healthcheck"));
}
