// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace berth::cli {
/// `dockyard gen-env [--nocheck] [-o FILE] [--json]`
int cmd_gen_env(int argc, char** argv);
}  // namespace berth::cli
