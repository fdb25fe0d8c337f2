// SPDX-License-Identifier: Apache-2.0
// The options of the commands that act on one instance.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace berth::cli {

struct InstanceArgs {
  std::optional<std::string> prefix;
  std::optional<std::filesystem::path> env_file;
  bool json = false;
};

struct VerbHelp {
  std::string_view verb;   ///< "start"
  std::string_view usage;  ///< "dockyard start [PREFIX | --env FILE]"
  std::string_view text;   ///< what it does
  bool json = false;       ///< takes --json
  bool yes = false;        ///< takes --yes
};

/// Parses `dockyard VERB [PREFIX | --env FILE] ...`. Returns the exit code
/// when the command is done already (--help, a usage error).
std::optional<int> parse_instance_args(const VerbHelp& help, int argc, char** argv, InstanceArgs& out);

}  // namespace berth::cli
