// SPDX-License-Identifier: Apache-2.0
#include "dns/answering.hpp"

#include "berth/net/dns/server.hpp"

#include <algorithm>

namespace berth::net::dns {
namespace {

Message reply_to(const Message& q, Rcode rcode) {
  Message r;
  r.id = q.id;
  r.qr = true;
  r.opcode = q.opcode;
  r.rd = q.rd;
  r.ra = true;
  r.rcode = rcode;
  r.questions = q.questions;
  if (q.edns_udp_size) r.edns_udp_size = kAnswerEdnsSize;
  return r;
}

std::vector<std::uint8_t> formerr(const Header& h) {
  std::vector<std::uint8_t> out(12, 0);
  out[0] = static_cast<std::uint8_t>(h.id >> 8);
  out[1] = static_cast<std::uint8_t>(h.id);
  out[2] = static_cast<std::uint8_t>(0x80 | (h.flags >> 8 & 0x79));  // QR, opcode, RD
  out[3] = static_cast<std::uint8_t>(0x80 | static_cast<int>(Rcode::FormErr));
  return out;
}

}  // namespace

std::size_t udp_limit(std::optional<std::uint16_t> edns_size) {
  if (!edns_size) return 512;
  return std::clamp<std::size_t>(*edns_size, 512, kMaxUdpAnswer);
}

std::optional<Message> answer(const Zone& zone, const Message& query, const IpAddress& client) {
  if (query.qr) return std::nullopt;  // callers drop responses before this
  if (query.opcode != 0) return reply_to(query, Rcode::NotImp);
  if (query.questions.size() != 1) return reply_to(query, Rcode::FormErr);
  const Question& q = query.questions.front();
  if (q.qclass != kClassIn && q.qclass != 255) return reply_to(query, Rcode::FormErr);
  const int network = zone.network_of(client);
  Lookup l = zone.lookup(network, q);
  switch (l.kind) {
    case Lookup::Kind::Answer: {
      Message r = reply_to(query, Rcode::NoError);
      r.aa = true;
      r.answers = std::move(l.records);  // empty: NODATA, the name exists
      return r;
    }
    case Lookup::Kind::NxDomain: {
      Message r = reply_to(query, Rcode::NxDomain);
      r.aa = true;
      return r;
    }
    case Lookup::Kind::Forward:
      // CVE-2024-29018: clients of internal networks must not reach the outside, not even by DNS.
      if (network >= 0 && zone.networks()[static_cast<std::size_t>(network)].internal)
        return reply_to(query, Rcode::Refused);
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Unanswered> answer_packet(const Zone& zone, std::span<const std::uint8_t> packet,
                                        const IpAddress& client, std::size_t limit,
                                        std::vector<std::uint8_t>& reply) {
  reply.clear();
  if (answer_address_query(zone, packet, client, limit, reply)) return std::nullopt;
  auto parsed = parse(packet);
  if (std::holds_alternative<ParseError>(parsed)) {
    auto h = peek_header(packet);
    if (!h || (h->flags & 0x8000)) return std::nullopt;  // not even a header, or a response: drop
    reply = formerr(*h);
    return std::nullopt;
  }
  Message& q = std::get<Message>(parsed);
  if (q.qr) return std::nullopt;
  auto r = answer(zone, q, client);
  const std::size_t reply_limit = limit == 0 ? udp_limit(q) : limit;
  if (r) {
    reply = serialize(*r, reply_limit);
    echo_question_case(packet, reply);
    return std::nullopt;
  }
  return Unanswered{q.id, q.questions.front(), reply_limit, std::vector<std::uint8_t>(packet.begin(), packet.end())};
}

}  // namespace berth::net::dns
