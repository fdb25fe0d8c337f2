// SPDX-License-Identifier: Apache-2.0
// The systemctl unit manager where systemd is not PID 1 (this machine, CI):
// it says so, and its failures are one line naming the command. The real
// thing runs in the system tier's test host (dockyard's lifecycle).
#include "berth/runtime/systemd/unit_manager.hpp"

#include "berth_catch.hpp"

using namespace berth::runtime::systemd;

TEST_CASE("the system manager knows its directory and whether systemd runs", "[systemd]") {
  auto m = make_unit_manager(Scope::System);
  CHECK(m->scope() == Scope::System);
  CHECK(m->unit_dir() == "/etc/systemd/system");
  CHECK(m->available() == systemd_running());
  CHECK(make_unit_manager(Scope::System, "/tmp/units")->unit_dir() == "/tmp/units");
}

TEST_CASE("a user's units go where systemd --user looks for them", "[systemd]") {
  CHECK(user_unit_dir("/home/alice", "") == "/home/alice/.config/systemd/user");
  CHECK(user_unit_dir("/home/alice", "/xdg") == "/xdg/systemd/user");
}

TEST_CASE("without systemd, a verb fails in one line naming the command", "[systemd]") {
  if (systemd_running()) return;  // the test host covers the real thing
  auto m = make_unit_manager(Scope::System);
  auto r = m->start({"berth-no-such-unit.service"});
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::StartsWith("systemctl start berth-no-such-unit.service: "));
  CHECK(r.error().message().find('\n') == std::string::npos);
  CHECK(m->active_state("berth-no-such-unit.service") != "active");
  CHECK_FALSE(m->is_enabled("berth-no-such-unit.service"));
}
