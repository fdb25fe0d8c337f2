// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/daemon/workload.hpp"

#include <chrono>
#include <string>
#include <string_view>

/// The body of `POST /v1/containers/run`, nyxd's RunRequest with berth's
/// additions (docs/api/openapi.yaml). Untrusted input from the socket:
/// every field is checked for its type and value, an unknown field is an
/// error naming it (a typo must not be silently ignored), and so is a value
/// the runtime would refuse later (a bad port, name, duration or volume).
/// Fuzzed (tests/fuzz).
namespace berth::runtime::daemon {

struct RunRequest {
  WorkloadSpec spec;
  bool stream = false;  ///< answer as NDJSON events (pull progress, then the run)
};

[[nodiscard]] core::Result<RunRequest> parse_run_request(std::string_view body);

/// The spec as a request body (what parse_run_request reads back as the same spec).
[[nodiscard]] std::string spec_to_json(const WorkloadSpec& spec);

/// A Go duration as Docker and compose write them: "30s", "1m30s", "250ms", "1h".
[[nodiscard]] core::Result<std::chrono::milliseconds> parse_duration(std::string_view text);
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

/// Docker's `-v SRC:DST[:ro|rw]` for a bind mount: both absolute paths.
[[nodiscard]] core::Result<oci::BindMount> parse_volume(std::string_view text);

}  // namespace berth::runtime::daemon
