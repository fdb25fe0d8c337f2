// SPDX-License-Identifier: Apache-2.0
// berthd: the container daemon. Parses its flags, installs the log sink and
// owns the signals; libruntime's daemon/ does the rest.
#include "berth/core/log.hpp"
#include "berth/runtime/daemon/daemon.hpp"
#include "options.hpp"
#include "report.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <map>

namespace po = boost::program_options;
using namespace berth;
using namespace berth::runtime::daemon;

namespace {

std::string field(const DaemonEvent& e, std::string_view key) {
  for (const auto& [k, v] : e.fields)
    if (k == key) return v;
  return {};
}

void log_event(const DaemonEvent& e) {
  switch (e.kind) {
    case DaemonEvent::Kind::Backend:
      core::log::info(e.message, {{"driver", e.detail},
                                  {"network", field(e, "network")},
                                  {"subnet", field(e, "subnet")},
                                  {"dns", field(e, "dns")}});
      break;
    case DaemonEvent::Kind::Listening: core::log::info(e.message, {{"socket", e.detail}}); break;
    case DaemonEvent::Kind::Notice: core::log::info(e.message, {{"detail", e.detail}}); break;
    case DaemonEvent::Kind::Warning: core::log::warn(e.message, {{"about", e.detail}}); break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  DaemonSettings s;
  std::string log_level = "info";
  po::options_description desc(
      "usage: berthd [options]\n\n"
      "The container daemon: serves berth's control API on a unix socket (no TCP listener) for\n"
      "berthctl and curl --unix-socket. Runs as root (or with CAP_NET_ADMIN and CAP_SYS_ADMIN).\n\noptions");
  desc.add_options()("help,h", "show this help")(
      "net-driver", po::value(&s.net_driver)->default_value(s.net_driver), "container networking: native or cni")(
      "cni-bin-dir", po::value(&s.cni_bin_dir)->default_value(s.cni_bin_dir), "where the CNI plugins are (cni driver)")(
      "cni-conf-dir", po::value(&s.cni_conf_dir)->default_value(s.cni_conf_dir), "where the CNI configurations are")(
      "network", po::value(&s.network)->default_value(s.network), "the default network's name")(
      "dns", po::value(&s.dns)->default_value(s.dns), "container DNS: auto, embedded, cni or off")(
      "base-dir", po::value(&s.base_dir)->default_value(s.base_dir), "images, containers and records")(
      "socket", po::value(&s.socket)->default_value(s.socket), "the control socket")(
      "socket-group", po::value(&s.socket_group)->default_value(s.socket_group), "the group that may use the socket")(
      "runtime", po::value(&s.runtime)->default_value(s.runtime), "the OCI runtime: runc, crun or auto")(
      "exec-root", po::value(&s.exec_root)->default_value(s.exec_root), "network namespaces and runtime state")(
      "log-max-size", po::value(&s.log_max_size), "rotate a container's log past this size (10m, 512k)")(
      "log-max-files", po::value(&s.log_max_files)->default_value(s.log_max_files), "files a container's log keeps")(
      "stop-on-exit", po::bool_switch(&s.stop_on_exit), "stop every container when berthd stops (off: they keep running)")(
      "log-level", po::value(&log_level)->default_value(log_level), "debug, info, warn or error");
  po::variables_map vm;
  if (auto done = cli::parse_options("berthd: error", argc, argv, desc, vm)) return *done;
  auto level = core::log::parse_level(log_level);
  if (!level) {
    fmt::print(stderr, "berthd: error: --log-level: '{}' is not one of debug, info, warn, error\n", log_level);
    return 2;
  }
  std::map<std::string, std::string> environment;
  for (const char* key : {"BERTH_CONTAINER_SUBNET", "BERTH_GATEWAY_IP"})
    if (const char* v = std::getenv(key)) environment.emplace(key, v);
  auto options = daemon_options(s, environment);
  if (!options) return cli::report("berthd", options.error());
  if (auto r = check_privileges(); !r) return cli::report("berthd", r.error());
  core::log::install_stderr_sink(*level);

  boost::asio::io_context io;
  // SIGTERM and SIGINT stop the daemon, never its containers.
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  std::signal(SIGPIPE, SIG_IGN);
  auto daemon = Daemon::start(io, *options, {.version = BERTH_VERSION, .commit = BERTH_COMMIT, .build_date = BERTH_BUILD_DATE},
                              log_event);
  if (!daemon) return cli::report("berthd", daemon.error());
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    core::log::info("stopping; containers keep running", {{"signal", std::string(::strsignal(signo))}});
    (*daemon)->stop();
    io.stop();
  });
  io.run();
  return 0;
}
