// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/address.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

/// DNS messages (RFC 1035 with name compression, EDNS0 per RFC 6891).
/// Parsing is defensive: it never reads past the packet, follows compression
/// pointers only backwards and a bounded number of times, and checks label
/// (63) and name (255) lengths and every count against the bytes present.
namespace berth::net::dns {

namespace type {
inline constexpr std::uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, TXT = 16, AAAA = 28, SRV = 33, OPT = 41,
                               ANY = 255;
}
inline constexpr std::uint16_t kClassIn = 1;

enum class Rcode : std::uint8_t { NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5 };

/// A question. `name` is lower case, without the trailing dot ("" is the root).
struct Question {
  std::string name;
  std::uint16_t qtype = 0;
  std::uint16_t qclass = kClassIn;
  friend bool operator==(const Question&, const Question&) = default;
};

struct Srv {
  std::uint16_t priority = 0, weight = 0, port = 0;
  std::string target;
  friend bool operator==(const Srv&, const Srv&) = default;
};

/// Record data: an address (A/AAAA), a name (PTR/CNAME/NS), SRV, TXT strings,
/// or raw bytes for anything else.
using Rdata = std::variant<IpAddress, std::string, Srv, std::vector<std::string>, std::vector<std::uint8_t>>;

struct Record {
  std::string name;
  std::uint16_t rtype = 0;
  std::uint16_t rclass = kClassIn;
  std::uint32_t ttl = 0;
  Rdata data;
  friend bool operator==(const Record&, const Record&) = default;
};

/// A whole message.
struct Message {
  std::uint16_t id = 0;
  bool qr = false;       ///< a response
  std::uint8_t opcode = 0;
  bool aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  Rcode rcode = Rcode::NoError;
  std::vector<Question> questions;
  std::vector<Record> answers, authority, additional;  ///< additional excludes OPT
  /// EDNS0: the sender's UDP payload size, when an OPT record was present.
  std::optional<std::uint16_t> edns_udp_size;
  bool edns_do = false;
  friend bool operator==(const Message&, const Message&) = default;
};

/// Why a packet could not be parsed (for FORMERR answers and logs).
enum class ParseError { Truncated, BadLabel, NameTooLong, PointerLoop, BadCount, BadRecord };
[[nodiscard]] std::string_view describe(ParseError e);

/// Parses a whole message.
[[nodiscard]] std::variant<Message, ParseError> parse(std::span<const std::uint8_t> packet);

/// Reads just the header id and flags of a packet (enough to answer FORMERR);
/// nullopt when it is shorter than a header.
struct Header {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
};
[[nodiscard]] std::optional<Header> peek_header(std::span<const std::uint8_t> packet);

/// Serializes with name compression. When the result would exceed `limit`
/// bytes, records are dropped from the end and TC is set, as RFC 2181 asks;
/// the question always stays.
[[nodiscard]] std::vector<std::uint8_t> serialize(const Message& m, std::size_t limit = 65535);

/// Gives `reply` the client's spelling of the question: when both packets
/// hold one question whose name is the same (case aside) and written the
/// same way, the query's bytes are copied over the reply's. Answers then
/// echo the name as asked (RFC 4343), which resolvers that randomise the
/// case of their queries ("0x20", unbound's use-caps-for-id) check; owner
/// names that point at the question follow. Otherwise `reply` is left alone.
void echo_question_case(std::span<const std::uint8_t> query, std::span<std::uint8_t> reply);

/// "2.0.88.10.in-addr.arpa" / nibble form for IPv6.
[[nodiscard]] std::string reverse_name(const IpAddress& address);
/// Lower-cases ASCII (DNS names compare case-insensitively).
[[nodiscard]] std::string lower(std::string_view name);

}  // namespace berth::net::dns
