// SPDX-License-Identifier: Apache-2.0
#include "berth/core/error.hpp"

#include "berth_catch.hpp"

#include <cerrno>

using namespace berth::core;

namespace {
Result<int> inner() { return errno_error(EEXIST, "create veth 'bv3f2a'"); }
Result<int> middle() {
  auto r = inner();
  if (!r) return std::move(r).error().wrap("setup network 'web'");
  return r;
}
Result<void> with_try() {
  BERTH_TRY(middle(), "run container 'c1'");
  return {};
}
}  // namespace

TEST_CASE("Error chains context outermost first and ends with the system's words", "[error]") {
  auto r = middle();
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "setup network 'web': create veth 'bv3f2a': File exists");
  CHECK(r.error().code == std::errc::file_exists);
}

TEST_CASE("BERTH_TRY returns the error with one more layer", "[error]") {
  auto r = with_try();
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "run container 'c1': setup network 'web': create veth 'bv3f2a': File exists");
}

TEST_CASE("berth's own conditions read as their context alone", "[error]") {
  Error e = make_error(Errc::exhausted, "no free address left in 10.0.0.0/30");
  CHECK(e.message() == "no free address left in 10.0.0.0/30");
  CHECK(e.is(Errc::exhausted));
  CHECK_FALSE(e.is(Errc::conflict));
  CHECK(std::move(e).wrap("allocate").message() == "allocate: no free address left in 10.0.0.0/30");
  SECTION("without context the condition names itself") {
    CHECK(make_error(Errc::timed_out, "").message() == "timed out");
  }
}

TEST_CASE("Result::value() throws a system_error carrying the message", "[error]") {
  Result<int> r = make_error(Errc::not_found, "link 'x'");
  CHECK_THROWS_WITH(r.value(), "link 'x'");
  Result<int> ok = 7;
  CHECK(ok.value() == 7);
}
