// SPDX-License-Identifier: Apache-2.0
// Forwarding what the zone does not answer to the host's resolvers.
#pragma once

#include "berth/core/unique_fd.hpp"
#include "berth/net/dns/server.hpp"
#include "dns/answering.hpp"
#include "dns/listeners.hpp"
#include "berth/net/sockaddr.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <vector>

namespace berth::net::dns {

/// Where the answer to a forwarded query goes back to.
struct ReplyTo {
  // The listen address a UDP client asked (unset for TCP). Not its socket's
  // descriptor: a reload may close that socket meanwhile, and its number may
  // come back as another address's socket.
  std::optional<IpAddress> udp_listen;
  SockAddr client;  ///< UDP client
  std::uint64_t tcp_conn = 0;
};

/// Sends queries to the upstream resolvers (resolv.conf's, re-read when it
/// changes, or fixed ones), healthy ones first, the next one after
/// `fallback_after`, SERVFAIL after `give_up_after`; a truncated UDP answer
/// is asked again over TCP from the same upstream. Only answers from an
/// upstream that was asked, to the question asked, are taken; they go back
/// with the client's id and spelling of the question, cut to its limit. Runs
/// on the server's loop thread only.
class Forwarder {
public:
  using Deliver = std::function<void(const ReplyTo& to, const std::vector<std::uint8_t>& answer)>;

  Forwarder(const ServerOptions& options, int epoll, Deliver deliver);
  /// Opens the upstream sockets (IPv4, and IPv6 where the host has it).
  void open();
  /// The server's own listen addresses, never asked as upstreams.
  void set_own_addresses(std::vector<IpAddress> addresses);

  void forward(Unanswered query, ReplyTo to);
  /// An upstream UDP socket is readable.
  void on_upstream(int fd);
  /// An upstream TCP connection (its tag as registered) is ready.
  void on_upstream_tcp(std::uint64_t tag, std::uint32_t events);
  /// Tries the next upstream, or gives up, where that is due.
  void on_timers(Clock::time_point now);
  /// The earliest of `limit` and the next retry or give-up.
  [[nodiscard]] Clock::time_point next_deadline(Clock::time_point limit) const;

private:
  struct Pending {
    Unanswered query;  // its packet as sent upstream (our id)
    ReplyTo to;
    std::vector<std::size_t> tried;  // indexes into upstreams()
    Clock::time_point started, next_try;
    // Over TCP to the upstream whose UDP answer came back truncated.
    core::UniqueFd upstream_tcp;
    std::vector<std::uint8_t> tcp_out, tcp_in;  // length-prefixed query; what came back so far
    std::size_t tcp_sent = 0;
  };

  const std::vector<IpAddress>& upstreams();
  std::optional<std::size_t> next_upstream(const Pending& p);
  bool send_next(Pending& p);
  void deliver(Pending& p, std::vector<std::uint8_t> reply);
  void fail(std::uint16_t id, Rcode rcode);
  bool start_upstream_tcp(std::uint16_t id, Pending& p, const IpAddress& upstream);

  const ServerOptions& o_;
  int epoll_;
  Deliver deliver_;
  core::UniqueFd up4_, up6_;
  std::vector<IpAddress> own_;
  std::map<std::uint16_t, Pending> pending_;
  std::map<IpAddress, Clock::time_point> down_until_;
  std::vector<IpAddress> upstream_list_;
  Clock::time_point upstreams_checked_{};
  std::int64_t upstreams_stamp_ = -1;
  std::mt19937 rng_{std::random_device{}()};
  std::vector<std::uint8_t> buf_ = std::vector<std::uint8_t>(65535);
};

}  // namespace berth::net::dns
