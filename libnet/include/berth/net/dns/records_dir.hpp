// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/dns/records.hpp"
#include "berth/net/dns/server.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

/// The records directory berth-dns serves: one JSON file per network,
///   {"name": "berth", "listen": ["10.88.0.1"], "subnets": ["10.88.0.0/16"], "internal": false,
///    "containers": [{"name": "web", "aliases": ["www"], "addresses": ["10.88.0.2", "fd00::2"]}],
///    "srv": [{"name": "_http._tcp.web", "target": "web", "port": 80, "priority": 0, "weight": 0}],
///    "txt": [{"name": "web", "values": ["v=1"]}]}
namespace berth::net::dns {

/// Parses one network file; errors name the key.
[[nodiscard]] core::Result<NetworkRecords> parse_network_records(std::string_view json);
/// Reads every `*.json` of `dir`; an error names the file.
[[nodiscard]] core::Result<std::vector<NetworkRecords>> load_records_dir(const std::filesystem::path& dir);

/// What happened while serving, for the caller to log (libraries do not).
struct RecordsDirEvent {
  enum class Kind {
    Serving,       ///< the directory is loaded and the server started
    Reloaded,      ///< `detail` says why (the directory changed, or the caller asked)
    ReloadFailed,  ///< `detail` is the error; the previous records stay
    Stopped,
  };
  Kind kind;
  std::string detail;
  std::size_t networks = 0;
};

struct RecordsDirOptions {
  std::filesystem::path dir;
  std::string domain = "berth.internal";
  std::uint32_t ttl = 5;
  ServerOptions server;
  std::function<void(const RecordsDirEvent&)> on_event;
};

/// berth-dns's settings as typed on its command line; `records_dir_options`
/// checks them.
struct RecordsDirSettings {
  std::filesystem::path records;
  int port = 53;
  std::string domain = "berth.internal";
  int ttl = 5;
  std::filesystem::path resolv_conf = "/etc/resolv.conf";
  std::vector<std::string> upstreams;  ///< empty: resolv_conf's
  int upstream_fallback_ms = 300;
  int busy_poll_us = 0;
};

/// Checks every setting and gives the options to serve with; an error is
/// one line naming the setting as berth-dns spells it and its range
/// ("--port 70000 is out of range 1-65535").
[[nodiscard]] core::Result<RecordsDirOptions> records_dir_options(const RecordsDirSettings& settings);

/// What the caller says through `RecordsDirControl`, and why (for the event it causes).
struct RecordsDirCommand {
  enum class Kind { None, Reload, Stop } kind = Kind::None;
  std::string why;
};

/// How the caller (its main, which owns the process's signals) talks to a
/// running `serve_records_dir`: `fd` becomes readable when it has something
/// to say (a signalfd, an eventfd), and `read` then says what.
struct RecordsDirControl {
  int fd = -1;
  std::function<RecordsDirCommand()> read;
};

/// Serves `dir` until `control` says Stop: reloads it when a file changes
/// (inotify) or when `control` says Reload, swapping the zone without
/// dropping queries. A directory that does not parse keeps the previous zone
/// (told through `on_event`). Blocks the calling thread.
[[nodiscard]] core::Result<void> serve_records_dir(const RecordsDirOptions& options, const RecordsDirControl& control);

}  // namespace berth::net::dns
