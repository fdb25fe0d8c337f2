// SPDX-License-Identifier: Apache-2.0
// Answering one query packet from the zone, or saying it must be forwarded.
#pragma once

#include "berth/net/dns/message.hpp"
#include "berth/net/dns/records.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace berth::net::dns {

/// A query the zone does not answer: what the forwarder needs of it.
struct Unanswered {
  std::uint16_t client_id = 0;
  Question question;
  std::size_t limit = 512;            ///< the largest answer the client takes
  std::vector<std::uint8_t> packet;   ///< the query as it came
};

/// Answers `packet` from `client` into `reply` (the fast path for address
/// queries, else parse, answer and serialize within `limit`; 0 means the
/// query's own UDP limit). Leaves `reply` empty for what gets no answer
/// (not even a header, or a response) and returns the query when only an
/// upstream can answer it.
[[nodiscard]] std::optional<Unanswered> answer_packet(const Zone& zone, std::span<const std::uint8_t> packet,
                                                      const IpAddress& client, std::size_t limit,
                                                      std::vector<std::uint8_t>& reply);

}  // namespace berth::net::dns
