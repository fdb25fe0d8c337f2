// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/daemon/workload.hpp"

#include <boost/json.hpp>

/// A workload's spec as the JSON object of a run request: the API's body
/// and the daemon's record share it, so a record reads back through the
/// same checks as a request.
namespace berth::runtime::daemon {

[[nodiscard]] core::Result<WorkloadSpec> spec_from_json(const boost::json::object& object);
[[nodiscard]] boost::json::object spec_json(const WorkloadSpec& spec);

}  // namespace berth::runtime::daemon
