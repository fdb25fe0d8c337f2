// SPDX-License-Identifier: Apache-2.0
// dockyard's commands, one cmd_<verb>.cpp each: parse the verb's options,
// call libinstance, print. Each returns the process's exit code.
#pragma once

namespace berth::cli {
int cmd_gen_env(int argc, char** argv);
int cmd_create(int argc, char** argv);
int cmd_start(int argc, char** argv);
int cmd_stop(int argc, char** argv);
int cmd_status(int argc, char** argv);
int cmd_list(int argc, char** argv);
int cmd_verify(int argc, char** argv);
int cmd_destroy(int argc, char** argv);
}  // namespace berth::cli
