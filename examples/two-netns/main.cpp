// SPDX-License-Identifier: Apache-2.0
// berth's first job, end to end through the libraries: a bridge, two network
// namespaces attached to it with addresses from the IPAM, a ping from one to
// the other, and everything removed again.
//
// Nothing on the host changes: the bridge lives in a "host" namespace that
// the example creates, so no traffic can leave the namespaces it made.
#include "berth/core/fs.hpp"
#include "berth/core/netns.hpp"
#include "berth/core/process.hpp"
#include "berth/net/ipam.hpp"
#include "berth/net/link/links.hpp"
#include "report.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <unistd.h>

namespace {

using namespace berth;
namespace fs = std::filesystem;

void step(std::string_view what) { fmt::print("  {}\n", what); }

core::Result<void> run_example() {
  const std::string tag = fmt::format("berth-ex{}", ::getpid());
  const net::Subnet subnet = net::Subnet::parse("10.89.0.0/24").value();

  if (auto r = core::make_directories("/run/netns"); !r) return r.error();
  std::string tmpl = (fs::temp_directory_path() / "berth-two-netns-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return core::errno_error(errno, "create state directory");
  const fs::path state_dir = tmpl;
  struct RemoveDir {
    fs::path p;
    ~RemoveDir() { std::error_code ec; fs::remove_all(p, ec); }
  } remove_state{state_dir};

  // Declared first so it is destroyed last: deleting the namespaces takes the
  // bridge and veths inside them along.
  auto host = core::NetnsFile::create(fmt::format("/run/netns/{}-host", tag));
  if (!host) return host.error();
  auto ns_a = core::NetnsFile::create(fmt::format("/run/netns/{}-a", tag));
  if (!ns_a) return ns_a.error();
  auto ns_b = core::NetnsFile::create(fmt::format("/run/netns/{}-b", tag));
  if (!ns_b) return ns_b.error();
  step(fmt::format("namespaces {}-host, {}-a, {}-b", tag, tag, tag));

  auto ipam = net::Ipam::open("example", subnet, state_dir);
  if (!ipam) return ipam.error();
  auto links = net::Links::open_in(host->path());
  if (!links) return links.error();
  const net::InterfaceAddress gateway{ipam->gateway(), subnet.prefix_length()};
  BERTH_TRY(links->create_bridge("berth-ex0", {.up = true}), "set up the bridge");
  BERTH_TRY(links->add_address("berth-ex0", gateway), "set up the bridge");
  step(fmt::format("bridge berth-ex0 with gateway {} in {}-host", gateway.to_string(), tag));

  std::vector<net::IpAddress> addresses;
  const std::pair<const char*, const core::NetnsFile*> containers[] = {{"a", &*ns_a}, {"b", &*ns_b}};
  for (const auto& [name, ns] : containers) {
    auto address = ipam->allocate(name);
    if (!address) return address.error();
    const std::string host_end = fmt::format("vex-{}", name);
    BERTH_TRY(links->create_veth(host_end, {.name = "eth0", .netns = ns->path()}, {.master = "berth-ex0", .up = true}),
              fmt::format("attach '{}'", name));
    auto inside = net::Links::open_in(ns->path());
    if (!inside) return inside.error();
    const net::InterfaceAddress addr{*address, subnet.prefix_length()};
    BERTH_TRY(inside->set_up("lo"), fmt::format("attach '{}'", name));
    BERTH_TRY(inside->set_up("eth0"), fmt::format("attach '{}'", name));
    BERTH_TRY(inside->add_address("eth0", addr), fmt::format("attach '{}'", name));
    BERTH_TRY(inside->add_route({.gateway = ipam->gateway(), .device = "eth0"}), fmt::format("attach '{}'", name));
    addresses.push_back(*address);
    step(fmt::format("{}: eth0 {} (from the IPAM), default via {}", name, addr.to_string(), ipam->gateway().to_string()));
  }

  auto ping = core::run_in_netns(ns_a->path(), [&] {
    return core::run({.program = "ping",
                      .args = {"-c", "1", "-W", "2", addresses[1].to_string()},
                      .timeout = std::chrono::seconds(10)});
  });
  if (!ping) return std::move(ping).error().wrap("ping from a to b");
  if (!ping->success())
    return core::make_error(core::Errc::child_failed,
                            fmt::format("ping from a to b: no answer from {}: {}", addresses[1].to_string(),
                                        ping->out + ping->err));
  step(fmt::format("ping from a to b: ok ({} answered)", addresses[1].to_string()));

  for (const char* name : {"a", "b"}) BERTH_TRY(ipam->release(name), "release addresses");
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) {
    fmt::print("usage: {}\n\nCreates a bridge and two network namespaces with addresses from berth's IPAM,\n"
               "pings one from the other, and removes everything. Needs root.\n",
               argv[0]);
    return std::string_view(argv[1]) == "--help" ? 0 : 2;
  }
  fmt::print("berth two-netns example\n");
  std::fflush(stdout);
  if (auto r = run_example(); !r) return berth::cli::report("berth-two-netns", r.error());
  fmt::print("  removed the namespaces, the bridge and the veths\ndone\n");
  return 0;
}
