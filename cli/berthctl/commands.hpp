// SPDX-License-Identifier: Apache-2.0
// berthctl's commands, one cmd_<verb>.cpp each: parse the verb's options,
// call berthd through libruntime's Client, print. Each returns the exit code.
#pragma once

#include "berth/runtime/daemon/client.hpp"

namespace berth::cli {

using runtime::daemon::Client;

int cmd_ping(const Client& client, int argc, char** argv);
int cmd_version(const Client& client, int argc, char** argv);
int cmd_pull(const Client& client, int argc, char** argv);
int cmd_load(const Client& client, int argc, char** argv);
int cmd_images(const Client& client, int argc, char** argv);
int cmd_rmi(const Client& client, int argc, char** argv);
int cmd_run(const Client& client, int argc, char** argv);
int cmd_ps(const Client& client, int argc, char** argv);
int cmd_inspect(const Client& client, int argc, char** argv);
int cmd_logs(const Client& client, int argc, char** argv);
int cmd_stop(const Client& client, int argc, char** argv);
int cmd_kill(const Client& client, int argc, char** argv);
int cmd_rm(const Client& client, int argc, char** argv);
int cmd_wait(const Client& client, int argc, char** argv);
int cmd_exec(const Client& client, int argc, char** argv);

/// "berthctl" for error lines.
inline constexpr const char* kTool = "berthctl";

}  // namespace berth::cli
