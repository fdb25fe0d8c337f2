// SPDX-License-Identifier: Apache-2.0
#include "args.hpp"
#include "commands.hpp"
#include "report.hpp"

#include <fmt/format.h>

#include <unistd.h>

namespace berth::cli {

int cmd_pull(const Client& client, int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description desc(
      "usage: berthctl pull IMAGE\n\n"
      "Pulls an image into berthd's store: a progress bar per layer on a terminal, plain\n"
      "lines otherwise; then the image's name.\n\noptions");
  desc.add_options()("help,h", "show this help")("quiet,q", "print the name alone");
  po::variables_map vm;
  std::vector<std::string> refs;
  if (auto done = parse_verb("pull", argc, argv, desc, vm, refs, 1, 1, "image")) return *done;
  runtime::daemon::PullDisplay display(::isatty(STDERR_FILENO) != 0);
  const bool quiet = vm.count("quiet") > 0;
  auto name = client.pull(refs[0], [&](const runtime::daemon::RunEvent& e) {
    if (!quiet) fmt::print(stderr, "{}", display.update(e));
  });
  if (!name) return report(kTool, name.error());
  fmt::print("{}\n", *name);
  return 0;
}

}  // namespace berth::cli
