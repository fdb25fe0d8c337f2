// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/dns/records.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace berth::net::dns {

struct ServerOptions {
  std::uint16_t port = 53;
  /// Where upstream resolvers come from (re-read when the file changes).
  std::filesystem::path resolv_conf = "/etc/resolv.conf";
  std::filesystem::path resolved_upstream = "/run/systemd/resolve/resolv.conf";
  /// Fixed upstreams instead of resolv.conf (tests, explicit configuration).
  std::optional<std::vector<IpAddress>> upstreams;
  /// Ask the next upstream when one has not answered within this.
  std::chrono::milliseconds fallback_after{300};
  /// Give up (SERVFAIL) after this.
  std::chrono::milliseconds give_up_after{3000};
  /// An upstream that let a query time out is tried last for this long.
  std::chrono::seconds remember_failure{30};
  /// Told when a listen address is bound ("ready") or still waits for its address.
  std::function<void(const IpAddress& address, bool ready)> on_listen;
};

/// The embedded DNS server: UDP (batched with recvmmsg/sendmmsg) and TCP on
/// every listen address of the zone's networks. Answers from the network the
/// client's address belongs to; forwards other names to the upstream
/// resolvers, except for clients of internal networks. A listen address that
/// is not there yet is retried with backoff instead of failing. Each UDP
/// listen socket has a thread of its own; one more serves TCP, forwarding and
/// reloads. `update` and `stop` may be called from any thread.
class Server {
public:
  [[nodiscard]] static core::Result<std::unique_ptr<Server>> start(ServerOptions options,
                                                                   std::shared_ptr<const Zone> zone);
  virtual ~Server() = default;
  /// Swaps in a new zone (no query is dropped) and opens or closes listen sockets to match.
  virtual void update(std::shared_ptr<const Zone> zone) = 0;
  /// The addresses bound right now.
  [[nodiscard]] virtual std::vector<IpAddress> listening() const = 0;
  /// Stops the serving thread (also done by the destructor).
  virtual void stop() = 0;
};

/// Builds the answer to one query, as the server does for a parsed message
/// that needs no forwarding; nullopt means "forward it". Exposed for tests.
[[nodiscard]] std::optional<Message> answer(const Zone& zone, const Message& query, const IpAddress& client);

}  // namespace berth::net::dns
