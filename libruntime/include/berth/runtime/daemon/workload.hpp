// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/port_mapping.hpp"
#include "berth/runtime/oci/spec.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// What berthd runs: a workload is a container with what the daemon adds
/// around it (its network, published ports, DNS name, restart policy). Its
/// spec is what `run` asked, kept in the daemon's record so a restarted
/// daemon (or a restart policy) knows the container as it was asked for.
namespace berth::runtime::daemon {

/// Docker's restart policies.
struct RestartPolicy {
  enum class Kind { No, OnFailure, Always, UnlessStopped };
  Kind kind = Kind::No;
  unsigned max_retries = 0;  ///< on-failure:N; 0 = no limit
  friend bool operator==(const RestartPolicy&, const RestartPolicy&) = default;
};

/// "no", "on-failure", "on-failure:N", "always", "unless-stopped"; "" is "no".
[[nodiscard]] core::Result<RestartPolicy> parse_restart_policy(std::string_view text);
[[nodiscard]] std::string to_string(const RestartPolicy& policy);

/// Whether a container that ended with `exit_code` starts again, after
/// `restarts` restarts so far; `stopped_by_user` (stop, kill through the
/// API) ends every policy, as Docker's.
[[nodiscard]] bool should_restart(const RestartPolicy& policy, int exit_code, unsigned restarts, bool stopped_by_user);

/// Docker's growing backoff: 100 ms doubled per restart, at most a minute;
/// a container that ran for 10 s or more starts over from 100 ms.
[[nodiscard]] std::chrono::milliseconds restart_delay(unsigned restarts_in_a_row);

/// A CPU limit as the spec keeps it: from 0.01 (Docker's least) to 1024 (what
/// the OCI bundle takes), rounded to a billionth (Docker's NanoCPUs), so it
/// reads back the same from the JSON it is written to. An error says the range.
[[nodiscard]] core::Result<double> normalize_cpus(double cpus);

/// Docker's health check: a command in the container, an HTTP GET or a TCP
/// connection to the container's address.
struct HealthCheck {
  enum class Kind { None, Exec, Http, Tcp };
  Kind kind = Kind::None;
  std::vector<std::string> command;  ///< exec: argv in the container
  std::string url;                   ///< http: "http://{address}:8080/healthz" or a path ("/healthz" → port 80)
  int port = 0;                      ///< tcp
  std::chrono::milliseconds interval{30000}, timeout{30000}, start_period{0};
  unsigned retries = 3;
  friend bool operator==(const HealthCheck&, const HealthCheck&) = default;
};

struct WorkloadSpec {
  std::string name;  ///< the container's id and DNS name; generated when empty
  std::string image;
  std::vector<std::string> entrypoint;
  std::vector<std::string> args;  ///< the command
  std::vector<std::string> env;   ///< KEY=VALUE
  std::string hostname;           ///< empty: the name
  std::string user;
  std::string working_dir;
  std::string network;  ///< empty: the daemon's default network
  std::vector<net::PortMapping> ports;
  RestartPolicy restart;
  HealthCheck healthcheck;
  bool auto_remove = false;  ///< --rm: removed once it has ended
  bool read_only = false;
  std::vector<oci::BindMount> volumes;
  std::vector<std::string> cap_add, cap_drop;
  std::optional<std::int64_t> memory_bytes;
  std::optional<double> cpus;
  std::vector<std::pair<std::string, std::string>> labels;
  friend bool operator==(const WorkloadSpec&, const WorkloadSpec&) = default;
};

/// The daemon's record of a workload, beside the container's own.
struct WorkloadRecord {
  WorkloadSpec spec;
  std::string network;           ///< the network it was attached to
  unsigned restarts = 0;         ///< restarts by its policy
  bool stopped_by_user = false;  ///< stop or kill through the API: no restart
  std::int64_t started_at = 0;   ///< Unix milliseconds of its last start
  friend bool operator==(const WorkloadRecord&, const WorkloadRecord&) = default;
};

[[nodiscard]] std::string record_to_json(const WorkloadRecord& record);
/// A record as record_to_json wrote it; an error names what is wrong.
[[nodiscard]] core::Result<WorkloadRecord> record_from_json(std::string_view text);

}  // namespace berth::runtime::daemon
