// SPDX-License-Identifier: Apache-2.0
#include "world.hpp"

#include "berth_catch.hpp"

#include <fmt/format.h>

#include <thread>

namespace berth::test {

using namespace std::chrono_literals;

World::World() : outside_(core::NetnsFile::create("/run/netns/outside").value()) {
  auto host = net::Links::open().value();
  host.create_veth("uplink", {.name = "eth0", .netns = outside_.path()}, {.up = true}).value();
  host.add_address("uplink", net::InterfaceAddress::parse(std::string(kHostUplinkV4) + "/24").value()).value();
  host.add_address("uplink", net::InterfaceAddress::parse(std::string(kHostUplinkV6) + "/64").value()).value();
  host.add_route({.gateway = net::parse_address(kOutsideV4).value(), .device = "uplink"}).value();
  host.add_route({.gateway = net::parse_address(kOutsideV6).value(), .device = "uplink"}).value();
  auto out = net::Links::open_in(outside_.path()).value();
  out.set_up("lo").value();
  out.set_up("eth0").value();
  out.add_address("eth0", net::InterfaceAddress::parse(std::string(kOutsideV4) + "/24").value()).value();
  out.add_address("eth0", net::InterfaceAddress::parse(std::string(kOutsideV6) + "/64").value()).value();
}

const core::NetnsFile& World::container(const std::string& name) {
  containers_.push_back(core::NetnsFile::create("/run/netns/" + name).value());
  net::Links::open_in(containers_.back().path()).value().set_up("lo").value();
  return containers_.back();
}

core::Result<core::Output> World::run_in(const std::filesystem::path& ns, core::Command cmd) {
  if (cmd.timeout.count() == 0) cmd.timeout = 10s;
  if (ns.empty()) return core::run(cmd);
  return core::run_in_netns(ns, [&] { return core::run(cmd); });
}

core::Child World::serve_peer_address(const std::filesystem::path& ns, const std::string& proto, int port, bool v6) {
  const std::string listen = proto == "udp" ? fmt::format("UDP{}-RECVFROM:{},fork", v6 ? "6" : "4", port)
                                            : fmt::format("TCP{}-LISTEN:{},reuseaddr,fork", v6 ? "6" : "4", port);
  // Answer first, then drain what the client sent: writing to an `echo` that
  // has already exited would make the server drop its answer now and then.
  core::Command cmd{.program = "socat",
                    .args = {"-T", "5", listen, "SYSTEM:echo $SOCAT_PEERADDR; exec cat >/dev/null"}};
  auto child = ns.empty() ? core::Child::spawn(cmd)
                          : core::run_in_netns(ns, [&] { return core::Child::spawn(cmd); });
  REQUIRE(child);
  // Wait until the socket is bound (ss reads this namespace's sockets).
  const std::string flag = proto == "udp" ? "-uln" : "-tln";
  for (int i = 0; i < 100; ++i) {
    auto ss = run_in(ns, {.program = "ss", .args = {"-H", flag, fmt::format("sport = :{}", port)}});
    if (ss && !ss->out.empty()) break;
    std::this_thread::sleep_for(20ms);
  }
  return std::move(*child);
}

std::string World::ask(const std::filesystem::path& ns, const std::string& proto, const std::string& address,
                       int port, std::chrono::milliseconds timeout) {
  const bool v6 = address.find(':') != std::string::npos;
  const std::string target = fmt::format("{}{}:{}{}{}:{}", proto == "udp" ? "UDP" : "TCP", v6 ? "6" : "4",
                                         v6 ? "[" : "", address, v6 ? "]" : "", port);
  auto seconds = fmt::format("{:.1f}", std::chrono::duration<double>(timeout).count());
  auto r = run_in(ns, {.program = "socat",
                       // -t: after our stdin ends, wait that long for the answer.
                       .args = {"-T", seconds, "-t", seconds, "-", target + ",connect-timeout=" + seconds},
                       .stdin_data = "hello\n",
                       .timeout = timeout + 3s});
  if (!r) {
    UNSCOPED_INFO("ask " << target << " from '" << ns.string() << "': " << r.error().message());
    return {};
  }
  if (r->out.empty()) UNSCOPED_INFO("ask " << target << " from '" << ns.string() << "': " << r->err);
  std::string out = r->out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool World::ping(const std::filesystem::path& ns, const std::string& address) {
  auto r = run_in(ns, {.program = "ping", .args = {"-c", "1", "-W", "1", address}});
  return r && r->exit_code == 0;
}

}  // namespace berth::test
