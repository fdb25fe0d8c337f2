// SPDX-License-Identifier: Apache-2.0
// bench/network: the native backend against the tools people use, on the
// same work in one run. Everything happens inside namespaces the benchmark
// creates and removes; needs root.
//
//   bench_network attach    [--rounds N]       attach + detach one container with 2 port maps:
//                                              berth in-process, berth-cni as a CNI plugin,
//                                              Debian's bridge+host-local+portmap, netavark;
//                                              and the kernel's own veth deletion as the floor
//   bench_network portmaps  [--present N]      add + remove one port map with N present vs none
//   bench_network scale     [--containers N]   the (N+1)th container's setup vs the first's, each
//                           [--only TOOL]      tool on its own bridge with only its own N present
#include "berth/core/fs.hpp"
#include "berth/core/netns.hpp"
#include "berth/core/process.hpp"
#include "berth/net/cni/cni_backend.hpp"
#include "berth/net/firewall/firewall.hpp"
#include "berth/net/link/links.hpp"
#include "berth/net/native/native_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <thread>
#include <fstream>
#include <functional>
#include <string_view>
#include <unistd.h>

namespace {

using namespace berth;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kNetavark = "/usr/lib/podman/netavark";
constexpr const char* kCniBin = "/usr/lib/cni";

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

template <class F>
double timed(F&& f) {
  auto t = Clock::now();
  f();
  return ms(Clock::now() - t);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

[[noreturn]] void die(const core::Error& e) {
  fmt::print(stderr, "bench_network: error: {}\n", e.message());
  std::exit(1);
}

template <class T>
T must(core::Result<T> r) {
  if (!r) die(r.error());
  return std::move(*r);
}
void must(core::Result<void> r) {
  if (!r) die(r.error());
}

/// A scratch directory and the containers' namespaces of one run.
struct Scratch {
  fs::path dir;
  std::deque<core::NetnsFile> spaces;
  int counter = 0;
  Scratch() {
    std::string tmpl = (fs::temp_directory_path() / "berth-bench-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  ~Scratch() {
    spaces.clear();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  const fs::path& netns() {
    spaces.push_back(must(core::NetnsFile::create(fmt::format("/run/netns/bb{}-{}", ::getpid(), counter++))));
    return spaces.back().path();
  }
};

std::vector<net::PortMapping> two_ports() {
  return {net::parse_port_mapping("8080:80/tcp").value(), net::parse_port_mapping("8443:443/tcp").value()};
}

void write_debian_chain(const fs::path& conf, const fs::path& ipam, const std::string& subnet) {
  must(core::make_directories(conf));
  must(core::write_file_atomic(conf / "10-cnibench.conflist", fmt::format(R"({{"cniVersion":"1.0.0","name":"cnibench","plugins":[
    {{"type":"bridge","bridge":"cnib0","isGateway":true,"ipMasq":true,
      "ipam":{{"type":"host-local","ranges":[[{{"subnet":"{}"}}]],"routes":[{{"dst":"0.0.0.0/0"}}],"dataDir":"{}"}}}},
    {{"type":"portmap","capabilities":{{"portMappings":true}}}}]}})",
                                                                         subnet, ipam.string())));
}

void write_berth_chain(const fs::path& conf, const fs::path& state, const fs::path& bin) {
  must(core::make_directories(conf));
  must(core::make_directories(bin));
  std::error_code ec;
  fs::create_symlink(fs::canonical("/proc/self/exe").parent_path().parent_path() / "cli/berth-cni/berth-cni",
                     bin / "berth-cni", ec);
  must(core::write_file_atomic(conf / "20-berthbench.conflist", fmt::format(R"({{"cniVersion":"1.0.0","name":"berthbench","plugins":[
    {{"type":"berth-cni","bridge":"bcni0","subnet":"10.67.0.0/16","stateDir":"{}",
      "firewallTable":"berthcni","capabilities":{{"portMappings":true}}}}]}})",
                                                                           state.string())));
}

/// netavark's input for one container (netavark does no IPAM: the address is given).
/// Publishes host ports 8080 and 8443 (`first_port` 0), or `first_port` and
/// `first_port` + 10000 (the scale benchmark's fillers, like the other tools').
std::string netavark_config(const std::string& id, const std::string& ip, int first_port) {
  return fmt::format(R"({{"container_id":"{0}","container_name":"{0}",
    "port_mappings":{1},
    "networks":{{"nvbench":{{"static_ips":["{2}"],"interface_name":"eth0"}}}},
    "network_info":{{"nvbench":{{"dns_enabled":false,"driver":"bridge",
      "id":"53ce4390f2adb1681eb1a90ec8b48c49c015e0a8d336c197637e7f65e365fa9e","internal":false,
      "ipv6_enabled":false,"name":"nvbench","network_interface":"nvb0",
      "subnets":[{{"gateway":"10.69.0.1","subnet":"10.69.0.0/16"}}]}}}}}})",
                     id,
                     fmt::format(R"([{{"host_ip":"","container_port":80,"host_port":{},"range":1,"protocol":"tcp"}},
                                    {{"host_ip":"","container_port":443,"host_port":{},"range":1,"protocol":"tcp"}}])",
                                 first_port ? first_port : 8080, first_port ? first_port + 10000 : 8443),
                     ip);
}

struct Netavark {
  fs::path dir;
  core::Result<void> run(const std::string& verb, const std::string& id, const std::string& ip, const fs::path& ns,
                         int first_port = 0) const {
    const fs::path file = dir / (id + ".json");
    if (auto r = core::write_file_atomic(file, netavark_config(id, ip, first_port)); !r) return r;
    auto r = core::run_checked({.program = kNetavark,
                                .args = {"--config", dir.string(), "-f", file.string(), verb, ns.string()},
                                .timeout = std::chrono::seconds(30)});
    if (!r) return r.error();
    return {};
  }
};

std::string v4_at(int base_second_octet, int n) {
  return fmt::format("10.{}.{}.{}", base_second_octet, (n + 2) / 256, (n + 2) % 256);
}

struct Row {
  std::string name;
  std::vector<double> attach, detach;
};

void print_rows(const std::vector<Row>& rows) {
  fmt::print("{:<40} {:>12} {:>12} {:>12}\n", "", "attach ms", "detach ms", "total ms");
  for (const auto& r : rows)
    fmt::print("{:<40} {:>12.2f} {:>12.2f} {:>12.2f}\n", r.name, median(r.attach), median(r.detach),
               median(r.attach) + median(r.detach));
}

int attach_bench(int rounds) {
  Scratch s;
  Row berth{"berth in-process (native backend)"}, plugin{"berth-cni as a CNI plugin"},
      chain{"CNI bridge+host-local+portmap (Debian)"}, nv{"netavark (Debian)"}, floor{"kernel veth deletion alone"};
  auto native = must(net::make_native_backend(
      {.network = {.name = "bench", .bridge = "bench0", .subnet = *net::Subnet::parse("10.66.0.0/16")},
       .state_dir = s.dir / "native",
       .firewall_table = "berthbench"}));
  must(native->ensure_network());
  write_debian_chain(s.dir / "net.d", s.dir / "ipam", "10.68.0.0/16");
  write_berth_chain(s.dir / "net.d", s.dir / "berth-cni", s.dir / "bin");
  auto cni = must(net::make_cni_backend({.network = "cnibench", .conf_dir = s.dir / "net.d",
                                         .bin_dirs = {kCniBin}, .state_dir = s.dir / "cni-cache"}));
  auto bcni = must(net::make_cni_backend({.network = "berthbench", .conf_dir = s.dir / "net.d",
                                          .bin_dirs = {s.dir / "bin", kCniBin}, .state_dir = s.dir / "bcni-cache"}));
  must(cni->ensure_network());
  must(bcni->ensure_network());
  Netavark netavark{s.dir / "netavark"};
  must(core::make_directories(netavark.dir));
  auto links = must(net::Links::open());

  // One warm-up round each (first-time setup: bridges, tables, page cache).
  for (int round = -1; round < rounds; ++round) {
    const std::string id = fmt::format("c{}", round + 1);
    auto backend_round = [&](net::Backend& b, Row& row) {
      const fs::path& ns = s.netns();
      net::SetupRequest req{.container_id = id, .netns = ns, .ports = two_ports()};
      double a = timed([&] { must(b.setup(req)); });
      double d = timed([&] { must(b.teardown({.container_id = id, .netns = ns})); });
      if (round >= 0) {
        row.attach.push_back(a);
        row.detach.push_back(d);
      }
    };
    // Between tools, untimed: the kernel finishes what the previous one left
    // it (berth's detach leaves the kernel's RCU wait on a veth to a thread).
    auto settle = [] { std::this_thread::sleep_for(std::chrono::milliseconds(50)); };
    backend_round(*native, berth);
    settle();
    backend_round(*bcni, plugin);
    settle();
    backend_round(*cni, chain);
    settle();
    {
      const fs::path& ns = s.netns();
      const std::string ip = v4_at(69, round + 1);
      double a = timed([&] { must(netavark.run("setup", id, ip, ns)); });
      double d = timed([&] { must(netavark.run("teardown", id, ip, ns)); });
      if (round >= 0) {
        nv.attach.push_back(a);
        nv.detach.push_back(d);
      }
    }
    {
      const fs::path& ns = s.netns();
      // The same veth a container gets: attached and up, the container end up
      // with an address and a default route; only its deletion is timed.
      // (No IPv6 on the host end, no link-local address on the container end, as berth does.)
      must(links.create_veth("bfloor", {.name = "eth0", .netns = ns}, {.master = "bench0"}));
      {
        std::ofstream knob("/proc/sys/net/ipv6/conf/bfloor/disable_ipv6");
        knob << "1";
      }
      must(links.set_up("bfloor"));
      must(core::run_in_netns(ns, [] () -> core::Result<void> {
        auto in = net::Links::open();
        if (!in) return in.error();
        BERTH_TRY(in->set_up("lo"), "lo");
        BERTH_TRY(in->stop_ipv6_autoconf("eth0"), "eth0");
        BERTH_TRY(in->set_up("eth0"), "eth0");
        BERTH_TRY(in->add_address("eth0", *net::InterfaceAddress::parse("10.66.255.2/16")), "address");
        BERTH_TRY(in->add_route({.gateway = *net::parse_address("10.66.0.1"), .device = "eth0"}), "route");
        return {};
      }));
      double d = timed([&] { must(links.remove("bfloor")); });
      if (round >= 0) floor.detach.push_back(d);
    }
  }
  fmt::print("bench/network attach: one container with 2 port maps, median of {} rounds\n", rounds);
  print_rows({berth, plugin, chain, nv, floor});
  const double b_a = median(berth.attach), b_d = median(berth.detach), f = median(floor.detach);
  fmt::print("berth in-process: attach {:.2f} ms ({:.1f}x faster than the CNI chain, target <= 3 ms), "
             "detach {:.2f} ms against {:.2f} ms for the kernel's veth deletion alone ({:+.2f} ms; target <= floor + 1 ms)\n",
             b_a, median(chain.attach) / b_a, b_d, f, b_d - f);
  fmt::print("berth-cni attach+detach is {:.1f}x faster than the CNI chain (target >= 10x); "
             "netavark/berth in-process attach {:.1f}x\n",
             (median(chain.attach) + median(chain.detach)) / (median(plugin.attach) + median(plugin.detach)),
             median(nv.attach) / b_a);
  return 0;
}

net::PublishedPort one_port(int port, const std::string& owner) {
  return {owner, net::Protocol::Tcp, std::nullopt, static_cast<std::uint16_t>(port),
          *net::parse_address(fmt::format("10.70.{}.{}", (port / 250) % 250, port % 250 + 2)), 80};
}

int portmaps_bench(int present, int rounds) {
  auto fw = must(net::make_nft_firewall({.table = "berthpm"}));
  must(fw->add_network({"pm", "pm0", {*net::Subnet::parse("10.70.0.0/16")}, false}));
  auto change = [&](std::vector<double>& add, std::vector<double>& del) {
    for (int i = 0; i < rounds; ++i) {
      std::vector<net::PublishedPort> p{one_port(60000, "probe")};
      add.push_back(timed([&] { must(fw->add_ports(p)); }));
      del.push_back(timed([&] { must(fw->remove_ports("probe")); }));
    }
  };
  auto nft_change = [&](std::vector<double>& add, std::vector<double>& del) {
    for (int i = 0; i < std::min(rounds, 20); ++i) {
      add.push_back(timed([&] {
        must(core::run_checked({.program = "nft", .args = {"add element inet berthpm pm4any { tcp . 60001 : 10.70.0.9 . 80 }"}}));
      }));
      del.push_back(timed([&] {
        must(core::run_checked({.program = "nft", .args = {"delete element inet berthpm pm4any { tcp . 60001 }"}}));
      }));
    }
  };
  std::vector<double> add0, del0, addn, deln, nadd0, ndel0, naddn, ndeln;
  change(add0, del0);
  nft_change(nadd0, ndel0);
  for (int first = 0; first < present; first += 1000) {
    std::vector<net::PublishedPort> batch;
    for (int port = first; port < std::min(present, first + 1000); ++port)
      batch.push_back(one_port(1000 + port, fmt::format("c{}", port)));
    must(fw->add_ports(batch));
  }
  change(addn, deln);
  nft_change(naddn, ndeln);
  fmt::print("bench/network portmaps: add + remove one port map, median of {} rounds\n", rounds);
  fmt::print("{:<34} {:>12} {:>12} {:>14} {:>14}\n", "", "add ms", "remove ms", "add ms", "remove ms");
  fmt::print("{:<34} {:>12} {:>12} {:>14} {:>14}\n", "", "(0 present)", "(0 present)",
             fmt::format("({} present)", present), fmt::format("({} present)", present));
  fmt::print("{:<34} {:>12.3f} {:>12.3f} {:>14.3f} {:>14.3f}\n", "berth in-process (one transaction)", median(add0),
             median(del0), median(addn), median(deln));
  fmt::print("{:<34} {:>12.3f} {:>12.3f} {:>14.3f} {:>14.3f}\n", "nft command (same map element)", median(nadd0),
             median(ndel0), median(naddn), median(ndeln));
  fmt::print("berth: with {} present / with none: add {:.2f}x, remove {:.2f}x (target <= 1.5x, <= 0.1 ms)\n", present,
             median(addn) / median(add0), median(deln) / median(del0));
  must(fw->remove());
  return 0;
}

int scale_bench(int containers, const std::string& only) {
  Scratch s;
  // Each tool is measured on its own bridge with only its own N containers
  // present (the others' are torn down first): the first setup on an empty
  // bridge and the (N+1)th, each the median of a few attach/detach cycles.
  auto probe = [&](const std::string& what, const std::function<double(const std::string&)>& setup_once) {
    std::vector<double> v;
    for (int i = 0; i < 11; ++i) v.push_back(setup_once(fmt::format("probe-{}-{}", what, i)));
    return median(v);
  };
  auto backend_probe = [&](net::Backend& b) {
    return [&](const std::string& id) {
      const fs::path& ns = s.netns();
      net::SetupRequest req{.container_id = id, .netns = ns, .ports = two_ports()};
      double t = timed([&] { must(b.setup(req)); });
      must(b.teardown({.container_id = id, .netns = ns}));
      return t;
    };
  };
  // Only the probe publishes 8080/8443; the fillers publish distinct ports.
  auto filler_ports = [](int i) {
    return std::vector<net::PortMapping>{
        net::PortMapping{.protocol = net::Protocol::Tcp, .host_port = 10000 + i, .container_port = 80},
        net::PortMapping{.protocol = net::Protocol::Tcp, .host_port = 20000 + i, .container_port = 443}};
  };
  struct Growth {
    std::string name;
    double first = 0, next = 0;
  };
  std::vector<Growth> rows;
  auto measure_backend = [&](const std::string& name, const std::string& tag, net::Backend& b) {
    Growth g{name};
    g.first = probe(tag, backend_probe(b));
    fmt::print(stderr, "{}: adding {} containers ...\n", name, containers);
    std::vector<std::pair<std::string, fs::path>> fillers;
    for (int i = 0; i < containers; ++i) {
      fillers.emplace_back(fmt::format("f{}", i), s.netns());
      must(b.setup({.container_id = fillers.back().first, .netns = fillers.back().second, .ports = filler_ports(i)}));
    }
    g.next = probe(tag, backend_probe(b));
    fmt::print(stderr, "{}: removing them ...\n", name);
    for (const auto& [id, ns] : fillers) must(b.teardown({.container_id = id, .netns = ns}));
    rows.push_back(g);
  };

  if (only.empty() || only == "berth") {
    auto native = must(net::make_native_backend(
        {.network = {.name = "scale", .bridge = "scale0", .subnet = *net::Subnet::parse("10.66.0.0/16")},
         .state_dir = s.dir / "native",
         .firewall_table = "berthscale"}));
    must(native->ensure_network());
    measure_backend("berth in-process (native backend)", "berth", *native);
  }
  if (only.empty() || only == "cni") {
    write_debian_chain(s.dir / "net.d", s.dir / "ipam", "10.68.0.0/16");
    auto cni = must(net::make_cni_backend({.network = "cnibench", .conf_dir = s.dir / "net.d",
                                           .bin_dirs = {kCniBin}, .state_dir = s.dir / "cni-cache"}));
    must(cni->ensure_network());
    measure_backend("CNI bridge+host-local+portmap (Debian)", "cni", *cni);
  }
  if (only.empty() || only == "netavark") {
    Netavark netavark{s.dir / "netavark"};
    must(core::make_directories(netavark.dir));
    auto nv_probe = [&](const std::string& id) {
      const fs::path& ns = s.netns();
      // Far above the fillers' addresses (netavark takes the address it is given).
      const std::string ip = v4_at(69, 60000);
      double t = timed([&] { must(netavark.run("setup", id, ip, ns)); });
      must(netavark.run("teardown", id, ip, ns));
      return t;
    };
    Growth g{"netavark (Debian)"};
    g.first = probe("nv", nv_probe);
    fmt::print(stderr, "netavark: adding {} containers ...\n", containers);
    std::vector<fs::path> spaces;
    for (int i = 0; i < containers; ++i) {
      spaces.push_back(s.netns());
      must(netavark.run("setup", fmt::format("f{}", i), v4_at(69, i), spaces.back(), 10000 + i));
    }
    g.next = probe("nv", nv_probe);
    rows.push_back(g);
  }
  fmt::print("bench/network scale: setup of one container (2 port maps) on an empty bridge (first) and with {} present "
             "on the same bridge (next), each tool with only its own containers present\n",
             containers);
  fmt::print("{:<40} {:>12} {:>12} {:>8}\n", "", "first ms", fmt::format("next ms"), "growth");
  for (const auto& g : rows)
    fmt::print("{:<40} {:>12.2f} {:>12.2f} {:>7.2f}x\n", g.name, g.first, g.next, g.next / g.first);
  return 0;
}

int usage(FILE* to) {
  fmt::print(to, "usage: bench_network attach [--rounds N] | portmaps [--present N] [--rounds N] | "
             "scale [--containers N] [--only berth|cni|netavark]\n");
  return to == stdout ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage(stderr);
  std::string_view verb = argv[1];
  if (verb == "--help" || verb == "-h") return usage(stdout);
  int rounds = 20, present = 10000, containers = 500;
  std::string only;
  for (int i = 2; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--rounds") rounds = next();
    else if (a == "--present") present = next();
    else if (a == "--containers") containers = next();
    else if (a == "--only" && i + 1 < argc) only = argv[++i];
    else return usage(stderr);
  }
  if (rounds < 1 || present < 0 || containers < 1) return usage(stderr);
  if (::geteuid() != 0) {
    fmt::print(stderr, "bench_network: error: needs root (it creates network namespaces)\n");
    return 1;
  }
  // Everything runs inside a namespace of our own that plays the host.
  auto host = must(core::NetnsFile::create(fmt::format("/run/netns/berth-bench-{}", ::getpid())));
  auto rc = core::run_in_netns(host.path(), [&]() -> core::Result<int> {
    must(must(net::Links::open()).set_up("lo"));
    if (verb == "attach") return attach_bench(rounds);
    if (verb == "portmaps") return portmaps_bench(present, std::max(rounds, 50));
    if (verb == "scale") return scale_bench(containers, only);
    return usage(stderr);
  });
  return must(std::move(rc));
}
