// SPDX-License-Identifier: Apache-2.0
// config.json as berth makes it for an image and a run: against a golden
// file, and each rule on its own (user lookup, environment, capabilities,
// seccomp conditions, bad input).
#include "berth/core/fs.hpp"
#include "berth/runtime/oci/spec.hpp"

#include "berth_catch.hpp"

#include <boost/json.hpp>

#include <cstdlib>
#include <set>

using namespace berth;
using namespace berth::runtime;
using namespace berth::runtime::oci;

namespace {

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n# a comment\napp:x:101:101:app:/home/app:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
constexpr const char* kGroup = "root:x:0:\napp:x:101:\nstaff:x:50:app,other\nwheel:x:10:app\nnogroup:x:65534:\n";

/// A profile with one rule of each kind of condition Docker's profile has.
constexpr const char* kProfile = R"({"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
  "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]}],
  "syscalls":[
    {"names":["read","write"],"action":"SCMP_ACT_ALLOW"},
    {"names":["arch_prctl"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["amd64","x32"]}},
    {"names":["s390_pci_mmio_read"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["s390x"]}},
    {"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
    {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"op":"SCMP_CMP_MASKED_EQ"}],"excludes":{"caps":["CAP_SYS_ADMIN"]}},
    {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38,"excludes":{"caps":["CAP_SYS_ADMIN"]}},
    {"names":["futex_waitv"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"5.16"}},
    {"names":["from_the_future"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"99.1"}}]})";

SpecInput input() {
  SpecInput in;
  in.image.user = "app";
  in.image.env = {"PATH=/usr/bin:/bin", "FOO=bar", "LANG=C"};
  in.image.entrypoint = {"/bin/entry"};
  in.image.cmd = {"serve", "--port", "80"};
  in.image.working_dir = "/srv";
  in.rootfs = "/var/lib/berth/containers/c1/rootfs";
  in.passwd = kPasswd;
  in.group = kGroup;
  in.kernel_release = "6.18.44-fc";
  return in;
}

RunOptions run() {
  RunOptions o;
  o.env = {"FOO=baz", "EXTRA=1"};
  o.hostname = "web";
  o.netns = "/run/netns/c1";
  o.cap_add = {"NET_ADMIN"};
  o.cap_drop = {"CAP_MKNOD"};
  o.mounts = {{"/var/lib/berth/containers/c1/resolv.conf", "/etc/resolv.conf", true},
              {"/var/lib/berth/containers/c1/hosts", "/etc/hosts", false}};
  o.memory_bytes = 64 << 20;
  o.cpus = 0.5;
  o.pids_limit = 100;
  o.rlimits = {Rlimit{}};
  o.seccomp_profile = kProfile;
  o.annotations = {{"io.berth.container.name", "web"}};
  return o;
}

}  // namespace

TEST_CASE("config.json for an image and a run is the golden one", "[oci][spec]") {
  auto spec = render_spec(input(), run());
  REQUIRE(spec);
  // BERTH_WRITE_GOLDEN=1 writes what berth makes now, to be reviewed in the diff.
  if (std::getenv("BERTH_WRITE_GOLDEN")) REQUIRE(core::write_file_atomic(BERTH_SPEC_GOLDEN, *spec + "\n"));
  const auto golden = core::read_file(BERTH_SPEC_GOLDEN).value();
  const auto want = boost::json::parse(golden), got = boost::json::parse(*spec);
  if (want != got) FAIL("config.json differs from " << BERTH_SPEC_GOLDEN << ":\n" << boost::json::serialize(got));
}

TEST_CASE("users resolve through the image's own passwd and group", "[oci][spec]") {
  CHECK(resolve_user("", kPasswd, kGroup).value() == ResolvedUser{0, 0, {}, "/root"});
  CHECK(resolve_user("app", kPasswd, kGroup).value() == ResolvedUser{101, 101, {50, 10}, "/home/app"});
  CHECK(resolve_user("101", kPasswd, kGroup).value().additional_gids == std::vector<std::uint32_t>{50, 10});
  CHECK(resolve_user("app:staff", kPasswd, kGroup).value().gid == 50);
  CHECK(resolve_user("app:7", kPasswd, kGroup).value().gid == 7);
  CHECK(resolve_user("4242", kPasswd, kGroup).value() == ResolvedUser{4242, 0, {}, "/"});  // a number need not be listed
  CHECK(resolve_user("4242:4242", "", "").value().gid == 4242);
  CHECK(resolve_user("ghost", kPasswd, kGroup).error().message() == "user 'ghost' is not in the image's /etc/passwd");
  CHECK(resolve_user("app:ghosts", kPasswd, kGroup).error().message() == "group 'ghosts' is not in the image's /etc/group");
}

TEST_CASE("the process: command, environment, working directory as Docker makes them", "[oci][spec]") {
  auto process = [](const SpecInput& in, const RunOptions& o) {
    return boost::json::parse(render_spec(in, o).value()).at("process").as_object();
  };
  RunOptions o;
  auto p = process(input(), o);
  CHECK(p.at("args") == boost::json::parse(R"(["/bin/entry","serve","--port","80"])"));
  o.command = {"check"};
  CHECK(process(input(), o).at("args") == boost::json::parse(R"(["/bin/entry","check"])"));
  o.entrypoint = {"/bin/sh", "-c"};
  o.command.clear();
  CHECK(process(input(), o).at("args") == boost::json::parse(R"(["/bin/sh","-c"])"));  // the image's Cmd goes with its entrypoint
  auto env = process(input(), run()).at("env").as_array();
  CHECK(std::count(env.begin(), env.end(), boost::json::value("FOO=baz")) == 1);
  CHECK(std::count(env.begin(), env.end(), boost::json::value("PATH=/usr/bin:/bin")) == 1);
  CHECK(std::count(env.begin(), env.end(), boost::json::value("HOME=/home/app")) == 1);
  CHECK(std::count(env.begin(), env.end(), boost::json::value("HOSTNAME=web")) == 1);

  SpecInput bare = input();
  bare.image.entrypoint.clear();
  bare.image.cmd.clear();
  CHECK(render_spec(bare, {}).error().message() == "the image has no command and none was given");
  RunOptions bad_env;
  bad_env.env = {"NOEQUALS"};
  CHECK_THAT(render_spec(input(), bad_env).error().message(), Catch::Contains("'NOEQUALS' is not KEY=VALUE"));
  RunOptions relative;
  relative.working_dir = "srv";
  CHECK_FALSE(render_spec(input(), relative));
  RunOptions tiny;
  tiny.memory_bytes = 1024;
  CHECK_FALSE(render_spec(input(), tiny));
  RunOptions ghost;
  ghost.user = "ghost";
  CHECK_FALSE(render_spec(input(), ghost));
}

TEST_CASE("capabilities start from Docker's set", "[oci][spec]") {
  auto d = capabilities({}, {}).value();
  CHECK(d.size() == 14);
  CHECK(std::find(d.begin(), d.end(), "CAP_NET_BIND_SERVICE") != d.end());
  CHECK(std::find(d.begin(), d.end(), "CAP_SYS_ADMIN") == d.end());
  CHECK(capabilities({}, {"ALL"}).value().empty());
  CHECK(capabilities({"cap_sys_admin"}, {"ALL"}).value() == std::vector<std::string>{"CAP_SYS_ADMIN"});
  CHECK(capabilities({"ALL"}, {}).value().size() == 41);
  CHECK(capabilities({"FLY"}, {}).error().message() == "unknown capability 'FLY'");
}

TEST_CASE("Docker's seccomp conditions are decided for the container", "[oci][spec]") {
  auto names = [](const std::string& json_text) {
    std::set<std::string> out;
    const auto doc = boost::json::parse(json_text);
    for (const auto& r : doc.at("syscalls").as_array())
      for (const auto& n : r.at("names").as_array()) out.insert(std::string(n.as_string()));
    return out;
  };
  const auto plain = names(seccomp_for(kProfile, "amd64", capabilities({}, {}).value(), "6.1.0").value());
  CHECK(plain == std::set<std::string>{"read", "write", "arch_prctl", "clone", "clone3", "futex_waitv"});
  const auto admin = names(seccomp_for(kProfile, "amd64", capabilities({"SYS_ADMIN"}, {}).value(), "5.10").value());
  CHECK(admin == std::set<std::string>{"read", "write", "arch_prctl", "mount"});
  CHECK_FALSE(seccomp_for("{", "amd64", {}, "6.1"));
  CHECK_FALSE(seccomp_for(R"({"syscalls":[]})", "amd64", {}, "6.1"));
  CHECK_FALSE(seccomp_for(kProfile, "mips", {}, "6.1"));
}

TEST_CASE("Debian's own seccomp profile (podman's) converts", "[oci][spec]") {
  auto text = core::read_file("/usr/share/containers/seccomp.json");
  REQUIRE(text);  // installed with podman (golang-github-containers-common)
  auto sc = seccomp_for(*text, "amd64", capabilities({}, {}).value(), "6.18.44");
  REQUIRE(sc);
  auto j = boost::json::parse(*sc).as_object();
  CHECK(j.at("defaultAction") == "SCMP_ACT_ERRNO");
  CHECK(j.at("architectures").as_array().size() == 3);
  std::size_t allowed = 0;
  for (const auto& r : j.at("syscalls").as_array())
    if (r.at("action") == "SCMP_ACT_ALLOW") allowed += r.at("names").as_array().size();
  CHECK(allowed > 300);
}
