// SPDX-License-Identifier: Apache-2.0
// The server's fast path (see answer_address_query in server.hpp). Under
// load, building a Message per query (a vector and strings for the question,
// records with their own copies of the name, a compression table) was about
// a fifth of berth-dns's CPU time; the kernel's part is the rest. Anything
// this does not recognise goes to the general path, and the fuzz target
// checks that both write the same bytes whenever this one answers.
#include "berth/net/dns/server.hpp"

#include <algorithm>
#include <array>

namespace berth::net::dns {
namespace {

constexpr std::size_t kHeader = 12;
constexpr std::size_t kMaxName = 255;

std::uint16_t u16_at(std::span<const std::uint8_t> p, std::size_t at) {
  return static_cast<std::uint16_t>(p[at] << 8 | p[at + 1]);
}

void put16(std::uint8_t* out, std::uint16_t v) {
  out[0] = static_cast<std::uint8_t>(v >> 8);
  out[1] = static_cast<std::uint8_t>(v);
}

}  // namespace

bool answer_address_query(const Zone& zone, std::span<const std::uint8_t> query, const IpAddress& client,
                          std::size_t limit, std::vector<std::uint8_t>& reply) {
  if (query.size() < kHeader + 5) return false;
  const std::uint16_t flags = u16_at(query, 2);
  // A query (QR clear), opcode QUERY; one question, no answer or authority
  // records, at most one additional record (which must be EDNS's OPT).
  if ((flags & 0xF800) != 0) return false;
  if (u16_at(query, 4) != 1 || u16_at(query, 6) != 0 || u16_at(query, 8) != 0 || u16_at(query, 10) > 1) return false;
  const bool has_additional = u16_at(query, 10) == 1;

  // The question's name: plain labels only (a compression pointer in the
  // first name has nothing before it to point to that the general path
  // would accept either), lower-cased into `name` as dotted text.
  std::array<char, kMaxName> name{};
  std::size_t name_len = 0, at = kHeader, wire_len = 1;
  for (;;) {
    if (at >= query.size()) return false;
    const std::uint8_t len = query[at];
    if (len == 0) break;
    if ((len & 0xC0) != 0 || at + 1 + len > query.size()) return false;
    wire_len += 1 + std::size_t{len};
    if (wire_len > kMaxName) return false;
    if (name_len > 0) name[name_len++] = '.';
    for (std::size_t i = 0; i < len; ++i) {
      char c = static_cast<char>(query[at + 1 + i]);
      if (c == '.') return false;
      name[name_len++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    at += 1 + len;
  }
  const std::size_t name_end = at + 1;  // after the root label
  if (name_len == 0 || name_end + 4 > query.size()) return false;
  const std::uint16_t qtype = u16_at(query, name_end), qclass = u16_at(query, name_end + 2);
  if (qclass != kClassIn || (qtype != type::A && qtype != type::AAAA)) return false;
  at = name_end + 4;

  // EDNS: the root name, type OPT, the client's UDP size in the class field.
  std::optional<std::uint16_t> edns_size;
  if (has_additional) {
    if (at + 11 > query.size() || query[at] != 0 || u16_at(query, at + 1) != type::OPT) return false;
    const std::size_t rdlen = u16_at(query, at + 9);
    if (at + 11 + rdlen > query.size()) return false;
    edns_size = u16_at(query, at + 3);
  }

  const int network = zone.network_of(client);
  if (network < 0) return false;
  const std::vector<IpAddress>* addresses =
      zone.addresses(network, std::string_view(name.data(), name_len), qtype == type::AAAA);
  if (!addresses) return false;  // NXDOMAIN or forwarding: the general path decides

  const std::size_t rdlen = qtype == type::AAAA ? 16 : 4;
  const std::size_t question_len = name_end - kHeader + 4;
  const std::size_t size = kHeader + question_len + addresses->size() * (12 + rdlen) + (edns_size ? 11 : 0);
  if (limit == 0) limit = udp_limit(edns_size);
  if (size > limit) return false;  // the general path truncates and sets TC

  reply.resize(size);
  std::uint8_t* out = reply.data();
  out[0] = query[0];  // the id
  out[1] = query[1];
  // QR, AA, RD as asked, RA; NOERROR.
  put16(out + 2, static_cast<std::uint16_t>(0x8000 | 0x0400 | (flags & 0x0100) | 0x0080));
  put16(out + 4, 1);
  put16(out + 6, static_cast<std::uint16_t>(addresses->size()));
  put16(out + 8, 0);
  put16(out + 10, edns_size ? 1 : 0);
  // The question as the client spelled it (see echo_question_case).
  std::copy(query.begin() + kHeader, query.begin() + static_cast<std::ptrdiff_t>(name_end), out + kHeader);
  std::size_t w = name_end;
  put16(out + w, qtype);
  put16(out + w + 2, kClassIn);
  w += 4;
  const std::uint32_t ttl = zone.ttl();
  for (const IpAddress& a : *addresses) {
    put16(out + w, 0xC000 | kHeader);  // the owner name: a pointer to the question's
    put16(out + w + 2, qtype);
    put16(out + w + 4, kClassIn);
    put16(out + w + 6, static_cast<std::uint16_t>(ttl >> 16));
    put16(out + w + 8, static_cast<std::uint16_t>(ttl));
    put16(out + w + 10, static_cast<std::uint16_t>(rdlen));
    if (qtype == type::AAAA) {
      const auto b = a.to_v6().to_bytes();
      std::copy(b.begin(), b.end(), out + w + 12);
    } else {
      const auto b = a.to_v4().to_bytes();
      std::copy(b.begin(), b.end(), out + w + 12);
    }
    w += 12 + rdlen;
  }
  if (edns_size) {
    out[w] = 0;  // root
    put16(out + w + 1, type::OPT);
    put16(out + w + 3, kAnswerEdnsSize);
    std::fill(out + w + 5, out + w + 11, std::uint8_t{0});  // extended rcode, version, flags, no options
  }
  return true;
}

}  // namespace berth::net::dns
