// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace berth::cli {
/// `dockyard create [--env FILE] [--no-systemd] [--no-start] [--docker-bin-dir DIR] ...`
int cmd_create(int argc, char** argv);
}  // namespace berth::cli
