// SPDX-License-Identifier: Apache-2.0
// berth-dns: the DNS sidecar. Serves a records directory (one JSON file per
// network) and reloads it on change or SIGHUP.
#include "berth/core/log.hpp"
#include "berth/net/dns/records_dir.hpp"
#include "options.hpp"
#include "report.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <iostream>

namespace po = boost::program_options;
using namespace berth;

int main(int argc, char** argv) {
  net::dns::RecordsDirOptions opts;
  std::string records, log_level = "info", resolv_conf = "/etc/resolv.conf";
  std::vector<std::string> upstreams;
  int port = 53;
  int fallback_ms = 300;
  int busy_poll_us = 0;
  po::options_description desc(
      "usage: berth-dns --records DIR [options]\n\n"
      "Answers DNS for the containers listed in DIR (one JSON file per network, see the README)\n"
      "on every network's listen addresses, UDP and TCP; forwards other names to the host's\n"
      "resolvers, except for internal networks. Reloads DIR when it changes or on SIGHUP.\n\noptions");
  desc.add_options()("help,h", "show this help")("records", po::value(&records), "records directory (required)")(
      "port", po::value(&port)->default_value(53), "port to listen on")(
      "domain", po::value(&opts.domain)->default_value("berth.internal"), "domain of container names")(
      "ttl", po::value(&opts.ttl)->default_value(5), "TTL of answers, in seconds")(
      "resolv-conf", po::value(&resolv_conf)->default_value("/etc/resolv.conf"), "where the upstream resolvers are")(
      "upstream", po::value(&upstreams), "an upstream resolver (repeatable; replaces --resolv-conf)")(
      "upstream-fallback-ms", po::value(&fallback_ms)->default_value(300),
      "ask the next upstream when one has not answered within this")(
      "busy-poll-us", po::value(&busy_poll_us)->default_value(0),
      "after a query, keep receiving without sleeping for this many microseconds (0-100000): lower latency "
      "on hosts where waking up is slow, at the price of a core per listen address while queries keep coming")(
      "log-level", po::value(&log_level)->default_value("info"), "debug, info, warn or error");
  po::variables_map vm;
  if (auto done = berth::cli::parse_options("berth-dns: error", argc, argv, desc, vm)) return *done;
  if (records.empty()) {
    fmt::print(stderr, "berth-dns: error: --records is required (see --help)\n");
    return 2;
  }
  if (port < 1 || port > 65535) {
    fmt::print(stderr, "berth-dns: error: --port {} is out of range 1-65535\n", port);
    return 2;
  }
  if (fallback_ms < 10 || fallback_ms > 5000) {
    fmt::print(stderr, "berth-dns: error: --upstream-fallback-ms {} is out of range 10-5000\n", fallback_ms);
    return 2;
  }
  if (busy_poll_us < 0 || busy_poll_us > 100000) {
    fmt::print(stderr, "berth-dns: error: --busy-poll-us {} is out of range 0-100000\n", busy_poll_us);
    return 2;
  }
  auto level = core::log::parse_level(log_level);
  if (!level) {
    fmt::print(stderr, "berth-dns: error: unknown log level '{}'\n", log_level);
    return 2;
  }
  core::log::install_stderr_sink(*level);
  opts.dir = records;
  opts.server.port = static_cast<std::uint16_t>(port);
  opts.server.resolv_conf = resolv_conf;
  opts.server.fallback_after = std::chrono::milliseconds(fallback_ms);
  opts.server.busy_poll = std::chrono::microseconds(busy_poll_us);
  if (!upstreams.empty()) {
    std::vector<net::IpAddress> list;
    for (const auto& u : upstreams) {
      auto ip = net::parse_address(u);
      if (!ip) return cli::report("berth-dns", std::move(ip).error().wrap("--upstream"));
      list.push_back(*ip);
    }
    opts.server.upstreams = std::move(list);
  }
  opts.server.on_listen = [](const net::IpAddress& a, bool ready) {
    if (ready) core::log::info("listening", {{"address", a.to_string()}});
    else core::log::info("waiting for address", {{"address", a.to_string()}});
  };
  if (auto r = net::dns::serve_records_dir(opts); !r) return cli::report("berth-dns", r.error());
  return 0;
}
