// SPDX-License-Identifier: Apache-2.0
#include "berth/net/ipam.hpp"

#include "berth/core/fs.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace berth::net;
using berth::core::Errc;
namespace fs = std::filesystem;
using berth::test::TempDir;

namespace {
Subnet S(std::string_view text) { return Subnet::parse(text).value(); }
IpAddress A(std::string_view text) { return parse_address(text).value(); }
}  // namespace

TEST_CASE("Ipam hands out the lowest free address, skipping network and gateway", "[ipam]") {
  TempDir dir;
  auto ipam = Ipam::open("berth", S("10.88.0.0/16"), dir.path);
  REQUIRE(ipam);
  CHECK(ipam->gateway() == A("10.88.0.1"));
  CHECK(ipam->allocate("c1").value() == A("10.88.0.2"));
  CHECK(ipam->allocate("c2").value() == A("10.88.0.3"));
  CHECK(ipam->allocate("c1").value() == A("10.88.0.2"));  // same owner, same lease
  REQUIRE(ipam->release("c1"));
  CHECK(ipam->allocate("c3").value() == A("10.88.0.2"));  // lowest free again
  REQUIRE(ipam->release("nobody"));                       // unknown owner is fine
}

TEST_CASE("Ipam exhausts a small subnet and never hands out broadcast", "[ipam]") {
  TempDir dir;
  auto ipam = Ipam::open("small", S("10.0.0.0/29"), dir.path);  // .1 gateway, .2-.6 usable, .7 broadcast
  REQUIRE(ipam);
  for (int i = 2; i <= 6; ++i) CHECK(ipam->allocate("c" + std::to_string(i)).value() == A("10.0.0." + std::to_string(i)));
  auto full = ipam->allocate("c7");
  REQUIRE_FALSE(full);
  CHECK(full.error().is(Errc::exhausted));
  CHECK(full.error().message() ==
        "allocate address in network 'small' for 'c7': no free address left in 10.0.0.0/29");
}

TEST_CASE("Ipam honours a requested address and names who holds a taken one", "[ipam]") {
  TempDir dir;
  auto ipam = Ipam::open("req", S("10.1.0.0/24"), dir.path);
  REQUIRE(ipam);
  CHECK(ipam->allocate("web", A("10.1.0.50")).value() == A("10.1.0.50"));
  CHECK(ipam->allocate("web", A("10.1.0.50")).value() == A("10.1.0.50"));  // idempotent
  auto taken = ipam->allocate("db", A("10.1.0.50"));
  REQUIRE_FALSE(taken);
  CHECK(taken.error().is(Errc::conflict));
  CHECK(taken.error().message() == "allocate 10.1.0.50 in network 'req' for 'db': address is already leased to 'web'");
  SECTION("reserved and foreign addresses are refused") {
    CHECK(ipam->allocate("x", A("10.1.0.0")).error().message() ==
          "allocate 10.1.0.0 in network 'req' for 'x': address is the network address");
    CHECK(ipam->allocate("x", A("10.1.0.1")).error().message() ==
          "allocate 10.1.0.1 in network 'req' for 'x': address is the gateway");
    CHECK(ipam->allocate("x", A("10.1.0.255")).error().message() ==
          "allocate 10.1.0.255 in network 'req' for 'x': address is the broadcast address");
    CHECK(ipam->allocate("x", A("10.2.0.5")).error().message() ==
          "allocate 10.2.0.5 in network 'req' for 'x': address is outside 10.1.0.0/24");
  }
  SECTION("lowest-free allocation walks around requested leases") {
    CHECK(ipam->allocate("a").value() == A("10.1.0.2"));
    REQUIRE(ipam->allocate("b", A("10.1.0.3")));
    CHECK(ipam->allocate("c").value() == A("10.1.0.4"));
  }
}

TEST_CASE("Ipam leases persist across reopen and a changed subnet is refused", "[ipam]") {
  TempDir dir;
  {
    auto ipam = Ipam::open("p", S("10.2.0.0/24"), dir.path);
    REQUIRE(ipam);
    REQUIRE(ipam->allocate("a"));
    REQUIRE(ipam->allocate("b"));
  }
  auto again = Ipam::open("p", S("10.2.0.0/24"), dir.path);
  REQUIRE(again);
  auto leases = again->list().value();
  REQUIRE(leases.size() == 2);
  CHECK(leases[0] == Lease{A("10.2.0.2"), "a"});
  CHECK(leases[1] == Lease{A("10.2.0.3"), "b"});
  CHECK(again->allocate("c").value() == A("10.2.0.4"));
  auto other = Ipam::open("p", S("10.3.0.0/24"), dir.path);
  REQUIRE_FALSE(other);
  CHECK(other.error().message() == "open IPAM of network 'p': network 'p' is stored with subnet 10.2.0.0/24, not 10.3.0.0/24");
}

TEST_CASE("Ipam reconcile frees the leases of owners that are gone", "[ipam]") {
  TempDir dir;
  auto ipam = Ipam::open("r", S("10.4.0.0/24"), dir.path).value();
  REQUIRE(ipam.allocate("alive"));
  REQUIRE(ipam.allocate("dead1"));
  REQUIRE(ipam.allocate("dead2"));
  auto freed = ipam.reconcile({"alive"});
  REQUIRE(freed);
  REQUIRE(freed->size() == 2);
  CHECK((*freed)[0].owner == "dead1");
  CHECK(ipam.list().value() == std::vector<Lease>{{A("10.4.0.2"), "alive"}});
}

TEST_CASE("Ipam handles IPv6 ranges without enumerating them", "[ipam]") {
  TempDir dir;
  auto ipam = Ipam::open("v6", S("fd00:88::/64"), dir.path);
  REQUIRE(ipam);
  CHECK(ipam->gateway() == A("fd00:88::1"));
  CHECK(ipam->allocate("a").value() == A("fd00:88::2"));
  CHECK(ipam->allocate("top", A("fd00:88::ffff:ffff:ffff:ffff")).value() == A("fd00:88::ffff:ffff:ffff:ffff"));
  CHECK(ipam->allocate("b").value() == A("fd00:88::3"));
  SECTION("a whole /0 works too") {
    auto all = Ipam::open("all", S("::/0"), dir.path);
    REQUIRE(all);
    CHECK(all->allocate("x").value() == A("::2"));
  }
}

TEST_CASE("Ipam refuses bad input and changes nothing", "[ipam][bad-input]") {
  TempDir dir;
  auto tiny = Ipam::open("tiny", S("10.0.0.0/31"), dir.path);
  REQUIRE_FALSE(tiny);
  CHECK(tiny.error().message() ==
        "open IPAM of network 'tiny': subnet 10.0.0.0/31 is too small: it leaves no address for containers");
  CHECK_FALSE(Ipam::open("tiny6", S("fd00::/127"), dir.path));
  CHECK(Ipam::open("ok30", S("10.0.0.0/30"), dir.path));
  auto bad_name = Ipam::open("../escape", S("10.0.0.0/24"), dir.path);
  REQUIRE_FALSE(bad_name);
  CHECK_THAT(bad_name.error().message(), Catch::Contains("network name '../escape'"));
  auto bad_gw = Ipam::open("gw", S("10.0.0.0/24"), dir.path, {.gateway = A("10.0.1.1")});
  REQUIRE_FALSE(bad_gw);
  CHECK(bad_gw.error().message() == "open IPAM of network 'gw': gateway 10.0.1.1 is outside 10.0.0.0/24");
  CHECK_FALSE(fs::exists(dir.path / "tiny.json"));
  CHECK_FALSE(fs::exists(dir.path / "gw.json"));
  auto ok = Ipam::open("o", S("10.0.0.0/24"), dir.path).value();
  CHECK(ok.allocate("").error().message() == "allocate address in network 'o' for '': lease owner is empty");
}

TEST_CASE("Ipam reports a corrupt store instead of guessing", "[ipam]") {
  TempDir dir;
  REQUIRE(berth::core::write_file_atomic(dir.path / "c.json", "{\"subnet\": 5"));
  auto ipam = Ipam::open("c", S("10.0.0.0/24"), dir.path);
  REQUIRE_FALSE(ipam);
  CHECK(ipam.error().is(Errc::corrupt));
  CHECK_THAT(ipam.error().message(), Catch::Contains("c.json' is corrupt"));
}

TEST_CASE("Two Ipam objects on one store see each other's changes, across journal folds", "[ipam][journal]") {
  TempDir dir;
  auto one = Ipam::open("shared", S("10.5.0.0/16"), dir.path).value();
  auto two = Ipam::open("shared", S("10.5.0.0/16"), dir.path).value();
  // 700 changes: the journal is folded into a new snapshot more than once meanwhile.
  for (int i = 0; i < 350; ++i) {
    Ipam& writer = i % 2 ? one : two;
    Ipam& other = i % 2 ? two : one;
    const std::string owner = "c" + std::to_string(i);
    auto address = writer.allocate(owner);
    REQUIRE(address);
    CHECK(other.allocate(owner).value() == *address);  // the other sees the lease at once
    if (i % 3 == 0) REQUIRE(other.release(owner));
  }
  auto seen_by_one = one.list().value();
  CHECK(seen_by_one == two.list().value());
  CHECK(seen_by_one.size() == 350 - 117);
  auto reopened = Ipam::open("shared", S("10.5.0.0/16"), dir.path).value();
  CHECK(reopened.list().value() == seen_by_one);
  CHECK(fs::file_size(reopened.journal_path()) < fs::file_size(reopened.store_path()) * 3);
}

TEST_CASE("Ipam drops a journal line cut short by a crash and ignores a journal of an older snapshot", "[ipam][journal]") {
  TempDir dir;
  {
    auto ipam = Ipam::open("j", S("10.6.0.0/24"), dir.path).value();
    REQUIRE(ipam.allocate("a"));
    REQUIRE(ipam.allocate("b"));
  }
  const fs::path journal = dir.path / "j.journal";
  {
    // A writer died halfway through a record: never acknowledged, so never applied.
    std::ofstream out(journal, std::ios::app);
    out << R"({"add":"10.6.0.9","ow)";
  }
  auto ipam = Ipam::open("j", S("10.6.0.0/24"), dir.path).value();
  CHECK(ipam.list().value() == std::vector<Lease>{{A("10.6.0.2"), "a"}, {A("10.6.0.3"), "b"}});
  CHECK(ipam.allocate("c").value() == A("10.6.0.4"));
  auto reopened = Ipam::open("j", S("10.6.0.0/24"), dir.path).value();
  CHECK(reopened.list().value().size() == 3);

  // A crash between writing a new snapshot and starting its journal leaves
  // the old journal behind: its records are already in the snapshot.
  auto text = berth::core::read_file(journal).value();
  REQUIRE(text.starts_with(R"({"generation":0)"));
  text.replace(0, 15, R"({"generation":7)");
  {
    std::ofstream out(journal, std::ios::trunc);
    out << text << R"({"add":"10.6.0.50","owner":"ghost"})" << '\n';
  }
  auto stale = Ipam::open("j", S("10.6.0.0/24"), dir.path).value();
  CHECK(stale.list().value().size() == 0);  // the snapshot (generation 0) holds no lease yet
  CHECK(stale.allocate("d").value() == A("10.6.0.2"));
  CHECK(stale.list().value() == std::vector<Lease>{{A("10.6.0.2"), "d"}});
}

TEST_CASE("Ipam reports a corrupt journal line instead of guessing", "[ipam][journal]") {
  TempDir dir;
  {
    auto ipam = Ipam::open("k", S("10.7.0.0/24"), dir.path).value();
    REQUIRE(ipam.allocate("a"));
  }
  {
    std::ofstream out(dir.path / "k.journal", std::ios::app);
    out << "not json\n";
  }
  auto ipam = Ipam::open("k", S("10.7.0.0/24"), dir.path);
  REQUIRE_FALSE(ipam);
  CHECK(ipam.error().is(Errc::corrupt));
  CHECK_THAT(ipam.error().message(), Catch::Contains("k.journal' is corrupt"));
}
