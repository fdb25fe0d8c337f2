// SPDX-License-Identifier: Apache-2.0
// berth-dns: the DNS sidecar. Serves a records directory (one JSON file per
// network) and reloads it on change or SIGHUP.
#include "berth/core/log.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/net/dns/records_dir.hpp"
#include "options.hpp"
#include "report.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstring>
#include <sys/signalfd.h>
#include <unistd.h>

namespace po = boost::program_options;
using namespace berth;

namespace {

void log_event(const net::dns::RecordsDirEvent& e) {
  using Kind = net::dns::RecordsDirEvent::Kind;
  const auto networks = static_cast<std::int64_t>(e.networks);
  switch (e.kind) {
    case Kind::Serving: core::log::info("berth-dns serving", {{"records", e.detail}, {"networks", networks}}); break;
    case Kind::Reloaded: core::log::info("records reloaded", {{"why", e.detail}, {"networks", networks}}); break;
    case Kind::ReloadFailed: core::log::error("reload failed; keeping the previous records", {{"error", e.detail}}); break;
    case Kind::Stopped: core::log::info("berth-dns stopped", {}); break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  net::dns::RecordsDirSettings settings;
  std::string records, log_level = "info", resolv_conf = "/etc/resolv.conf";
  po::options_description desc(
      "usage: berth-dns --records DIR [options]\n\n"
      "Answers DNS for the containers listed in DIR (one JSON file per network, see the README)\n"
      "on every network's listen addresses, UDP and TCP; forwards other names to the host's\n"
      "resolvers, except for internal networks. Reloads DIR when it changes or on SIGHUP.\n\noptions");
  desc.add_options()("help,h", "show this help")("records", po::value(&records), "records directory (required)")(
      "port", po::value(&settings.port)->default_value(53), "port to listen on")(
      "domain", po::value(&settings.domain)->default_value("berth.internal"), "domain of container names")(
      "ttl", po::value(&settings.ttl)->default_value(5), "TTL of answers, in seconds")(
      "resolv-conf", po::value(&resolv_conf)->default_value("/etc/resolv.conf"), "where the upstream resolvers are")(
      "upstream", po::value(&settings.upstreams), "an upstream resolver (repeatable; replaces --resolv-conf)")(
      "upstream-fallback-ms", po::value(&settings.upstream_fallback_ms)->default_value(300),
      "ask the next upstream when one has not answered within this")(
      "busy-poll-us", po::value(&settings.busy_poll_us)->default_value(0),
      "after a query, keep receiving without sleeping for this many microseconds (0-100000): lower latency "
      "on hosts where waking up is slow, at the price of a core per listen address while queries keep coming")(
      "log-level", po::value(&log_level)->default_value("info"), "debug, info, warn or error");
  po::variables_map vm;
  if (auto done = cli::parse_options("berth-dns: error", argc, argv, desc, vm)) return *done;
  settings.records = records;
  settings.resolv_conf = resolv_conf;
  auto options = net::dns::records_dir_options(settings);
  if (!options) return cli::report("berth-dns", options.error());
  auto level = core::log::parse_level(log_level);
  if (!level) {
    fmt::print(stderr, "berth-dns: error: unknown log level '{}'\n", log_level);
    return 2;
  }
  core::log::install_stderr_sink(*level);
  options->on_event = log_event;
  options->server.on_listen = [](const net::IpAddress& a, bool ready) {
    core::log::info(ready ? "listening" : "waiting for address", {{"address", a.to_string()}});
  };
  options->server.on_error = [](const net::IpAddress& a, const std::string& why) {
    core::log::error("listen address lost", {{"address", a.to_string()}, {"error", why}});
  };

  // The process's signals are main's: blocked before any thread starts (they
  // inherit the mask), then read from a signalfd by the serving loop.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  core::UniqueFd sfd(::signalfd(-1, &signals, SFD_CLOEXEC));
  if (!sfd) return cli::report("berth-dns", core::errno_error(errno, "signalfd"));
  using Command = net::dns::RecordsDirCommand;
  const net::dns::RecordsDirControl control{sfd.get(), [&]() -> Command {
                                              signalfd_siginfo si{};
                                              if (::read(sfd.get(), &si, sizeof si) != sizeof si) return {};
                                              if (si.ssi_signo == SIGHUP) return {Command::Kind::Reload, "SIGHUP"};
                                              return {Command::Kind::Stop, ::strsignal(static_cast<int>(si.ssi_signo))};
                                            }};
  if (auto r = net::dns::serve_records_dir(*options, control); !r) return cli::report("berth-dns", r.error());
  return 0;
}
