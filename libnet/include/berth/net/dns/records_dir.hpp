// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/dns/records.hpp"
#include "berth/net/dns/server.hpp"

#include <filesystem>
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

struct RecordsDirOptions {
  std::filesystem::path dir;
  std::string domain = "berth.internal";
  std::uint32_t ttl = 5;
  ServerOptions server;
};

/// Serves `dir` until SIGTERM or SIGINT: reloads it when a file changes
/// (inotify) or on SIGHUP, swapping the zone without dropping queries. A
/// directory that does not parse keeps the previous zone (and is logged).
/// Blocks those signals in the calling thread.
[[nodiscard]] core::Result<void> serve_records_dir(const RecordsDirOptions& options);

}  // namespace berth::net::dns
