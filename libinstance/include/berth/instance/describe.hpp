// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/instance/instance.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace berth::instance {

/// An instance as dockyard's --json output shows it, with the same keys in
/// every command: where it is and what it takes (prefix, root, socket,
/// bridge, bridge_cidr, fixed_cidr, pool_base, pool_size); how it was created
/// (systemd, firewall, sysbox) when `options` is given; and its state
/// (state, pid, answers) when `status` is.
[[nodiscard]] boost::json::object describe(const InstanceEnv& env, const InstanceOptions* options = nullptr,
                                           const InstanceStatus* status = nullptr);

/// `verify`'s answer: {"prefix", "ok", "problems": [...]}.
[[nodiscard]] boost::json::object describe_problems(const InstanceEnv& env, const std::vector<std::string>& problems);

/// What a command that asks for an instance's state exits with, as
/// systemctl status does: 0 when it runs and its socket answers, else 3.
[[nodiscard]] int status_exit_code(const InstanceStatus& status);

}  // namespace berth::instance
