// SPDX-License-Identifier: Apache-2.0
#include "berth/core/error.hpp"
#include "berth/core/error_list.hpp"
#include "berth/core/names.hpp"

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

TEST_CASE("ErrorList reports every failure of an operation that went on", "[error]") {
  ErrorList none;
  none.add_if(Result<void>{});
  CHECK(none.empty());
  CHECK(none.result("teardown 'c1'"));

  ErrorList one;
  one.add_if(Result<void>(errno_error(ENOENT, "remove veth 'bv1'")));
  auto r1 = one.result("teardown 'c1'");
  REQUIRE_FALSE(r1);
  CHECK(r1.error().message() == "teardown 'c1': remove veth 'bv1': No such file or directory");
  CHECK(r1.error().code == std::errc::no_such_file_or_directory);

  ErrorList two;
  two.add(errno_error(EBUSY, "remove veth 'bv1'"));
  Error second = make_error(Errc::conflict, "release address");
  second.exit_code = 3;
  two.add(second);
  auto r2 = two.result("teardown 'c1'");
  REQUIRE_FALSE(r2);
  // Each failure once, each with its own words, nothing repeated at the end.
  CHECK(r2.error().message() ==
        "teardown 'c1': remove veth 'bv1': Device or resource busy; release address");
  CHECK(r2.error().is(Errc::several));
  CHECK(r2.error().exit_code == 1);
}

TEST_CASE("container ids are plain names of at most 128 characters", "[names]") {
  CHECK(validate_container_id("3f2a9c"));
  CHECK(validate_container_id("web-1_a.b"));
  CHECK(validate_container_id(std::string(128, 'a')));
  for (std::string_view bad : {"", "../x", "a/b", "-x", ".x", "a b", "a\n"}) {
    INFO(bad);
    auto r = validate_container_id(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().is(Errc::invalid_argument));
  }
  CHECK_FALSE(validate_container_id(std::string(129, 'a')));
}
