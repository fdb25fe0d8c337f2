// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"
#include "berth/net/port_mapping.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// The CNI protocol (spec 1.0.0, with 0.3.x/0.4.0 results and 1.1's STATUS
/// and GC): results and errors as JSON, parsed defensively because they come
/// from other programs.
namespace berth::net::cni {

/// Versions berth speaks, oldest first.
[[nodiscard]] const std::vector<std::string>& supported_versions();
[[nodiscard]] bool is_supported(std::string_view version);

/// CNI's well-known error codes.
enum class ErrorCode : int {
  IncompatibleVersion = 1,
  UnsupportedField = 2,
  UnknownContainer = 3,
  InvalidEnvironment = 4,
  IoFailure = 5,
  DecodeFailure = 6,
  InvalidNetworkConfig = 7,
  TryAgainLater = 11,
  PluginNotAvailable = 50,
  Internal = 999,
};

struct Interface {
  std::string name;
  std::string mac;
  std::string sandbox;  ///< the netns path for interfaces inside the container
  friend bool operator==(const Interface&, const Interface&) = default;
};

struct IpConfig {
  InterfaceAddress address;
  std::optional<IpAddress> gateway;
  std::optional<int> interface;  ///< index into `interfaces`
  friend bool operator==(const IpConfig&, const IpConfig&) = default;
};

struct RouteEntry {
  Subnet dst;
  std::optional<IpAddress> gw;
  friend bool operator==(const RouteEntry&, const RouteEntry&) = default;
};

struct Dns {
  std::vector<std::string> nameservers;
  std::string domain;
  std::vector<std::string> search;
  std::vector<std::string> options;
  friend bool operator==(const Dns&, const Dns&) = default;
};

/// A plugin's ADD result.
struct Result {
  std::string cni_version = "1.0.0";
  std::vector<Interface> interfaces;
  std::vector<IpConfig> ips;
  std::vector<RouteEntry> routes;
  Dns dns;
  friend bool operator==(const Result&, const Result&) = default;
};

/// Serializes a result in the format of `version` (0.3.x/0.4.0 add "version" to each IP).
[[nodiscard]] std::string to_json(const Result& result, std::string_view version);
/// Parses a result (any supported version).
[[nodiscard]] core::Result<Result> parse_result(std::string_view json);

/// A CNI error, as a plugin prints it on stdout.
struct PluginError {
  std::string cni_version = "1.0.0";
  int code = static_cast<int>(ErrorCode::Internal);
  std::string msg;
  std::string details;
};
[[nodiscard]] std::string to_json(const PluginError& error);
/// Parses a plugin's error JSON; nullopt when `json` is not one.
[[nodiscard]] std::optional<PluginError> parse_error(std::string_view json);

}  // namespace berth::net::cni
