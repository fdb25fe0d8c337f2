// SPDX-License-Identifier: Apache-2.0
// A small network world inside the test's sandbox namespace: this namespace
// plays the host; an "outside" namespace is joined to it by a veth and plays
// the other hosts (the host's default routes point at it, and it routes
// nowhere else); container namespaces are made on demand.
//
//   outside (192.0.2.2, 2001:db8::2) --- uplink --- host (192.0.2.1, 2001:db8::1)
#pragma once

#include "berth/core/netns.hpp"
#include "berth/core/process.hpp"
#include "berth/net/link/links.hpp"

#include <chrono>
#include <string>
#include <deque>
#include <vector>

namespace berth::test {

inline constexpr const char* kHostUplinkV4 = "192.0.2.1";
inline constexpr const char* kOutsideV4 = "192.0.2.2";
inline constexpr const char* kHostUplinkV6 = "2001:db8::1";
inline constexpr const char* kOutsideV6 = "2001:db8::2";

class World {
public:
  World();
  /// A new empty namespace at /run/netns/<name> (lo up).
  const core::NetnsFile& container(const std::string& name);
  [[nodiscard]] const std::filesystem::path& outside() const { return outside_.path(); }
  /// The namespace of a container made with `container(name)`.
  [[nodiscard]] static std::filesystem::path container_path(const std::string& name) { return "/run/netns/" + name; }

  /// Runs a program in a namespace ("" = the host) and returns its output.
  static core::Result<core::Output> run_in(const std::filesystem::path& ns, core::Command cmd);
  /// Starts a server that answers each TCP (or UDP) client with the address it
  /// saw the client come from, then waits until it listens.
  static core::Child serve_peer_address(const std::filesystem::path& ns, const std::string& proto, int port,
                                        bool v6 = false);
  /// Connects and returns what the server said ("" when nothing came back).
  static std::string ask(const std::filesystem::path& ns, const std::string& proto, const std::string& address,
                         int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  static bool ping(const std::filesystem::path& ns, const std::string& address);

private:
  core::NetnsFile outside_;
  std::deque<core::NetnsFile> containers_;  // stable references
};

}  // namespace berth::test
