// SPDX-License-Identifier: Apache-2.0
// bench/links: create and delete N veth pairs attached to a bridge, once
// through berth's netlink code and once through `ip link` commands, in one
// run, and print the ratio. Everything happens inside a network namespace the
// benchmark creates (and removes), so the host is never touched. Needs root.
//
//   bench_links [--pairs N] [--rounds R]
#include "berth/core/netns.hpp"
#include "berth/core/process.hpp"
#include "berth/net/link/links.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace {

using namespace berth;
using Clock = std::chrono::steady_clock;

struct Timing {
  double create_ms = 0;
  double remove_ms = 0;
};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

core::Result<Timing> with_berth(net::Links& links, int pairs) {
  Timing t;
  auto start = Clock::now();
  for (int i = 0; i < pairs; ++i)
    BERTH_TRY(links.create_veth(fmt::format("bv{}", i), {.name = fmt::format("bp{}", i)}, {.master = "br0", .up = true}),
              "berth create");
  t.create_ms = ms_since(start);
  start = Clock::now();
  for (int i = 0; i < pairs; ++i) BERTH_TRY(links.remove(fmt::format("bv{}", i)), "berth remove");
  t.remove_ms = ms_since(start);
  return t;
}

core::Result<Timing> with_ip(int pairs) {
  // One `ip` process per pair and operation, as a script would run them.
  auto ip = [](std::vector<std::string> args) -> core::Result<void> {
    auto r = core::run_checked({.program = "ip", .args = std::move(args)});
    if (!r) return r.error();
    return {};
  };
  Timing t;
  auto start = Clock::now();
  for (int i = 0; i < pairs; ++i)
    BERTH_TRY(ip({"link", "add", fmt::format("iv{}", i), "master", "br0", "up", "type", "veth", "peer", "name",
                  fmt::format("ip{}", i)}),
              "ip create");
  t.create_ms = ms_since(start);
  start = Clock::now();
  for (int i = 0; i < pairs; ++i) BERTH_TRY(ip({"link", "del", fmt::format("iv{}", i)}), "ip remove");
  t.remove_ms = ms_since(start);
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int pairs = 200, rounds = 3;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--pairs" && i + 1 < argc) pairs = std::atoi(argv[++i]);
    else if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
    else {
      fmt::print(a == "--help" ? stdout : stderr, "usage: bench_links [--pairs N] [--rounds R]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (pairs < 1 || rounds < 1) {
    fmt::print(stderr, "bench_links: error: --pairs and --rounds must be positive\n");
    return 2;
  }
  auto ns = core::NetnsFile::create(fmt::format("/run/netns/berth-bench-{}", ::getpid()));
  if (!ns) {
    fmt::print(stderr, "bench_links: error: {} (run as root)\n", ns.error().message());
    return 1;
  }
  auto result = core::run_in_netns(ns->path(), [&]() -> core::Result<void> {
    auto links = net::Links::open();
    if (!links) return links.error();
    BERTH_TRY(links->create_bridge("br0", {.up = true}), "create bridge");
    std::vector<double> bc, br, ic, ir;
    for (int r = 0; r < rounds; ++r) {
      auto b = with_berth(*links, pairs);
      if (!b) return b.error();
      auto i = with_ip(pairs);
      if (!i) return i.error();
      bc.push_back(b->create_ms);
      br.push_back(b->remove_ms);
      ic.push_back(i->create_ms);
      ir.push_back(i->remove_ms);
    }
    double b_total = median(bc) + median(br), i_total = median(ic) + median(ir);
    fmt::print("bench/links: {} veth pairs attached to a bridge, median of {} rounds\n", pairs, rounds);
    fmt::print("{:<22} {:>12} {:>12} {:>12} {:>14}\n", "", "create ms", "delete ms", "total ms", "per pair ms");
    fmt::print("{:<22} {:>12.1f} {:>12.1f} {:>12.1f} {:>14.3f}\n", "berth (netlink)", median(bc), median(br), b_total,
               b_total / pairs);
    fmt::print("{:<22} {:>12.1f} {:>12.1f} {:>12.1f} {:>14.3f}\n", "ip link (iproute2)", median(ic), median(ir),
               i_total, i_total / pairs);
    fmt::print("ratio ip/berth: create {:.1f}x, delete {:.1f}x, total {:.1f}x\n", median(ic) / median(bc),
               median(ir) / median(br), i_total / b_total);
    return {};
  });
  if (!result) {
    fmt::print(stderr, "bench_links: error: {}\n", result.error().message());
    return 1;
  }
  return 0;
}
