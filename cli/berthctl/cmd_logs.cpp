// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdio>

namespace berth::cli {

int cmd_logs(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  std::size_t tail = 0;
  po::options_description desc(
      "usage: berthctl logs [-f] [--tail N] CONTAINER\n\n"
      "A container's output, its stdout on stdout and its stderr on stderr, from its rotated\n"
      "files on. -f follows it until it ends (across log rotations and berthd restarts).\n\noptions");
  desc.add_options()("help,h", "show this help")("follow,f", "follow the log")(
      "tail,n", po::value(&tail), "only the last N lines")("json", "print the log's JSON lines (log, stream, time)");
  po::variables_map vm;
  std::vector<std::string> ids;
  if (auto done = parse_verb("logs", argc, argv, desc, vm, ids, 1, 1)) return *done;
  std::optional<std::size_t> keep;
  if (vm.count("tail")) keep = tail;
  const bool as_json = vm.count("json") > 0;
  auto r = client.logs(ids[0], keep, vm.count("follow") > 0, [&](std::string_view stream, std::string_view text) {
    if (as_json) {
      fmt::print("{}\n", boost::json::serialize(boost::json::object{{"stream", stream}, {"log", text}}));
    } else {
      std::FILE* to = stream == "stderr" ? stderr : stdout;
      std::fwrite(text.data(), 1, text.size(), to);
      std::fflush(to);
    }
    return true;
  });
  if (!r) return report(kTool, r.error());
  return 0;
}

}  // namespace berth::cli
