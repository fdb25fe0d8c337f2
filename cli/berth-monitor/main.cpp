// SPDX-License-Identifier: Apache-2.0
// berth-monitor: a container's monitor (runtime::container::run_monitor),
// started by libruntime with its sync pipe as fd 3:
//   berth-monitor --id ID --runtime PATH [--runtime-arg ARG]... --bundle DIR
//                 --pid-file FILE --monitor-pid FILE --log FILE --exit-file FILE
//                 [--log-max-size BYTES --log-max-files N]
// Its arguments are read by hand, not by Boost.Program_options: it starts on
// every container start, and loading one more shared library costs time.
#include "berth/runtime/container/monitor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace {

constexpr const char* kUsage =
    "usage: berth-monitor --id ID --runtime PATH [--runtime-arg ARG]... --bundle DIR\n"
    "                     --pid-file FILE --monitor-pid FILE --log FILE --exit-file FILE\n"
    "                     [--log-max-size BYTES] [--log-max-files N]\n\n"
    "Runs the OCI runtime (`run --detach`) for one container and stays with it: writes its\n"
    "output to the log (JSON lines as Docker's json-file driver writes them; rotated when it\n"
    "would pass BYTES, N files kept), then its exit status to the exit file. Says \"pid N\" or\n"
    "\"error TEXT\" on file descriptor 3 once the container runs or could not. Started by\n"
    "berth's container library; not meant to be run by hand.\n";

}  // namespace

int main(int argc, char** argv) {
  using berth::runtime::container::MonitorOptions;
  MonitorOptions o;
  std::map<std::string_view, std::filesystem::path*> paths{
      {"--runtime", &o.runtime}, {"--bundle", &o.bundle},   {"--pid-file", &o.pid_file},
      {"--monitor-pid", &o.monitor_pid}, {"--log", &o.log}, {"--exit-file", &o.exit_file}};
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", kUsage);
      return 0;
    }
    if (i + 1 >= argc) {
      fmt::print(stderr, "berth-monitor: error: '{}' needs a value (see --help)\n", a);
      return 2;
    }
    if (a == "--id") o.id = argv[++i];
    else if (a == "--runtime-arg") o.runtime_args.emplace_back(argv[++i]);
    else if (a == "--log-max-size" || a == "--log-max-files") {
      const std::string_view v = argv[++i];
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size() || n < (a == "--log-max-files" ? 1 : 0)) {
        fmt::print(stderr, "berth-monitor: error: {}: '{}' is not a valid number\n", a, v);
        return 2;
      }
      if (a == "--log-max-size") o.log_max_size = n;
      else o.log_max_files = static_cast<unsigned>(std::min<std::int64_t>(n, 1000));
    }
    else if (auto it = paths.find(a); it != paths.end()) *it->second = argv[++i];
    else {
      fmt::print(stderr, "berth-monitor: error: unknown option '{}' (see --help)\n", a);
      return 2;
    }
  }
  for (const auto& [name, p] : paths)
    if (p->empty()) {
      fmt::print(stderr, "berth-monitor: error: {} is missing (see --help)\n", name);
      return 2;
    }
  if (o.id.empty()) {
    fmt::print(stderr, "berth-monitor: error: --id is missing (see --help)\n");
    return 2;
  }
  return berth::runtime::container::run_monitor(o);
}
