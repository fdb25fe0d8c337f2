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
#include <span>
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
  /// After answering, keep receiving without sleeping for this long before
  /// blocking again (0, the default: block at once). A query that arrives
  /// meanwhile is taken without the wake-up of a sleeping thread, which on a
  /// virtual machine whose idle vCPUs halt is most of a round trip; the price
  /// is the CPU spent spinning: with queries closer together than this, a
  /// core per listen address (bench/RESULTS.md).
  std::chrono::microseconds busy_poll{0};
  /// Told when a listen address is bound ("ready") or still waits for its address.
  std::function<void(const IpAddress& address, bool ready)> on_listen;
  /// Told when a listen address can no longer be served, and why (libraries
  /// do not log; the caller decides what to do with it). Runs on a serving thread.
  std::function<void(const IpAddress& address, const std::string& why)> on_error;
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

/// The UDP payload size berth's answers announce over EDNS (the DNS flag
/// day's safe size), and the most it sends in one UDP answer.
inline constexpr std::uint16_t kAnswerEdnsSize = 1232;
inline constexpr std::size_t kMaxUdpAnswer = 4096;

/// How big an answer may be over UDP: 512 bytes without EDNS, or the size
/// the query's EDNS record asks (at least 512, at most kMaxUdpAnswer).
[[nodiscard]] std::size_t udp_limit(std::optional<std::uint16_t> edns_size);
[[nodiscard]] inline std::size_t udp_limit(const Message& query) { return udp_limit(query.edns_udp_size); }

/// Builds the answer to one query, as the server does for a parsed message
/// that needs no forwarding; nullopt means "forward it". Exposed for tests.
[[nodiscard]] std::optional<Message> answer(const Zone& zone, const Message& query, const IpAddress& client);

/// The server's fast path for the query almost every client sends: one IN
/// question for A or AAAA (with at most an EDNS record) for a name on the
/// client's network. Writes into `reply` the very bytes that parse(),
/// answer(), serialize() and echo_question_case() would produce (the
/// question as the client spelled it) and returns true; returns false,
/// leaving `reply` alone, for anything else (the general path then answers).
/// `limit` is the largest answer to write, 0 for the query's own UDP limit.
/// It reads the name into a buffer on the stack and looks it up without a
/// string: no allocation when `reply` has room already.
[[nodiscard]] bool answer_address_query(const Zone& zone, std::span<const std::uint8_t> query,
                                        const IpAddress& client, std::size_t limit, std::vector<std::uint8_t>& reply);

}  // namespace berth::net::dns
