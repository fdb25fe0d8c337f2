// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/accounts.hpp"

#include "berth/core/process.hpp"

#include <grp.h>
#include <pwd.h>

#include <array>

namespace berth::instance {
namespace {

// getgrnam/getpwnam share static buffers; the _r forms do not.
template <class Fn>
bool lookup(Fn&& fn) {
  std::array<char, 16384> buf{};
  return fn(buf.data(), buf.size());
}

core::Result<void> run_tool(const char* program, std::vector<std::string> args) {
  BERTH_TRY(core::run_checked({.program = program, .args = std::move(args), .timeout = std::chrono::seconds(60)}),
            program);
  return {};
}

}  // namespace

std::optional<gid_t> group_id(const std::string& name) {
  std::optional<gid_t> id;
  lookup([&](char* buf, std::size_t n) {
    group g{}, *out = nullptr;
    if (getgrnam_r(name.c_str(), &g, buf, n, &out) == 0 && out) id = g.gr_gid;
    return true;
  });
  return id;
}

bool user_exists(const std::string& name) {
  bool found = false;
  lookup([&](char* buf, std::size_t n) {
    passwd p{}, *out = nullptr;
    found = getpwnam_r(name.c_str(), &p, buf, n, &out) == 0 && out;
    return true;
  });
  return found;
}

core::Result<void> ensure_system_account(const std::string& name) {
  // -f: exit 0 when the group exists (another create may have won the race).
  if (!group_id(name)) BERTH_TRY(run_tool("groupadd", {"--system", "-f", name}), "create group '" + name + "'");
  if (!user_exists(name)) {
    auto r = run_tool("useradd", {"--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                                  "/usr/sbin/nologin", "--gid", name, name});
    if (!r && !user_exists(name)) return std::move(r).error().wrap("create user '" + name + "'");
  }
  return {};
}

core::Result<void> remove_system_account(const std::string& name) {
  if (user_exists(name)) {
    auto r = run_tool("userdel", {name});
    if (!r && user_exists(name)) return std::move(r).error().wrap("remove user '" + name + "'");
  }
  if (group_id(name)) {
    auto r = run_tool("groupdel", {name});
    if (!r && group_id(name)) return std::move(r).error().wrap("remove group '" + name + "'");
  }
  return {};
}

}  // namespace berth::instance
