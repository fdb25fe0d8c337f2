// SPDX-License-Identifier: Apache-2.0
// The fake backend of tests/mocks keeps the Backend contract, as the native
// backend does (tests/net/native/native_backend_test.cpp runs the same checks).
#include "backend_contract.hpp"
#include "fake_backend.hpp"

TEST_CASE("the fake backend keeps the Backend contract", "[backend][fake]") {
  berth::test::FakeBackend fake;
  berth::test::check_backend_contract(fake, [](const std::string& id) { return "/run/netns/" + id; });
}

TEST_CASE("the fake backend fails when told to", "[backend][fake]") {
  berth::test::FakeBackend fake;
  fake.fail_setup = berth::core::make_error(berth::core::Errc::exhausted, "no free address left in 10.88.0.0/16");
  auto r = fake.setup({.container_id = "c1", .netns = "/run/netns/c1"});
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "attach container 'c1' to network 'berth': no free address left in 10.88.0.0/16");
}
