// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string_view>

namespace berth::cli {
/// `dockyard start|stop|status|verify|destroy [PREFIX | --env FILE]` and `dockyard list`.
int cmd_manage(std::string_view verb, int argc, char** argv);
}  // namespace berth::cli
