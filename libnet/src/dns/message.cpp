// SPDX-License-Identifier: Apache-2.0
#include "berth/net/dns/message.hpp"

#include <fmt/format.h>

#include <algorithm>


namespace berth::net::dns {
namespace {

constexpr std::size_t kHeader = 12;
constexpr std::size_t kMaxName = 255;
constexpr int kMaxPointers = 32;

class Reader {
public:
  explicit Reader(std::span<const std::uint8_t> p) : p_(p) {}
  std::size_t pos() const { return pos_; }
  bool u8(std::uint8_t& v) {
    if (pos_ + 1 > p_.size()) return false;
    v = p_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (pos_ + 2 > p_.size()) return false;
    v = static_cast<std::uint16_t>(p_[pos_] << 8 | p_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    std::uint16_t hi, lo;
    if (!u16(hi) || !u16(lo)) return false;
    v = static_cast<std::uint32_t>(hi) << 16 | lo;
    return true;
  }
  bool bytes(std::size_t n, std::span<const std::uint8_t>& out) {
    if (n > p_.size() - pos_) return false;
    out = p_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  /// A possibly compressed name, lower-cased, without the trailing dot.
  std::optional<ParseError> name(std::string& out) {
    out.clear();
    std::size_t at = pos_;
    std::size_t wire_len = 1;  // the final zero byte
    bool jumped = false;
    int pointers = 0;
    for (;;) {
      if (at >= p_.size()) return ParseError::Truncated;
      std::uint8_t len = p_[at];
      if ((len & 0xC0) == 0xC0) {
        if (at + 1 >= p_.size()) return ParseError::Truncated;
        std::size_t target = static_cast<std::size_t>(len & 0x3F) << 8 | p_[at + 1];
        // Only backwards, and a bounded number of times: no loops.
        if (target >= at || ++pointers > kMaxPointers) return ParseError::PointerLoop;
        if (!jumped) pos_ = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if ((len & 0xC0) != 0) return ParseError::BadLabel;  // 0x40/0x80: extended label types
      if (len == 0) {
        if (!jumped) pos_ = at + 1;
        return std::nullopt;
      }
      if (at + 1 + len > p_.size()) return ParseError::Truncated;
      wire_len += 1 + len;
      if (wire_len > kMaxName) return ParseError::NameTooLong;
      if (!out.empty()) out += '.';
      for (std::size_t i = 0; i < len; ++i) {
        char c = static_cast<char>(p_[at + 1 + i]);
        // Names are kept as dotted text, so a dot inside a label would change
        // the name; no host name has one.
        if (c == '.') return ParseError::BadLabel;
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
      at += 1 + len;
    }
  }

private:
  std::span<const std::uint8_t> p_;
  std::size_t pos_ = 0;
};

std::optional<ParseError> parse_record(Reader& r, Record& rec, std::span<const std::uint8_t> packet, bool& is_opt,
                                       Message& m) {
  if (auto e = r.name(rec.name)) return e;
  std::uint16_t rdlen;
  if (!r.u16(rec.rtype) || !r.u16(rec.rclass) || !r.u32(rec.ttl) || !r.u16(rdlen)) return ParseError::Truncated;
  const std::size_t start = r.pos();
  std::span<const std::uint8_t> rdata;
  if (!r.bytes(rdlen, rdata)) return ParseError::Truncated;
  is_opt = rec.rtype == type::OPT;
  if (is_opt) {
    m.edns_udp_size = rec.rclass;
    m.edns_do = (rec.ttl & 0x8000) != 0;
    return std::nullopt;
  }
  auto sub = [&](std::string& name) -> std::optional<ParseError> {
    // Names inside rdata may point anywhere before them in the packet.
    Reader inner(packet.first(start + rdlen));
    std::span<const std::uint8_t> skip;
    inner.bytes(start, skip);
    return inner.name(name);
  };
  switch (rec.rtype) {
    case type::A:
      if (rdlen != 4) return ParseError::BadRecord;
      {
        boost::asio::ip::address_v4::bytes_type b{};
        std::copy(rdata.begin(), rdata.end(), b.begin());
        rec.data = IpAddress(boost::asio::ip::address_v4(b));
      }
      return std::nullopt;
    case type::AAAA:
      if (rdlen != 16) return ParseError::BadRecord;
      {
        boost::asio::ip::address_v6::bytes_type b{};
        std::copy(rdata.begin(), rdata.end(), b.begin());
        rec.data = IpAddress(boost::asio::ip::address_v6(b));
      }
      return std::nullopt;
    case type::PTR:
    case type::CNAME:
    case type::NS: {
      std::string target;
      if (auto e = sub(target)) return e;
      rec.data = std::move(target);
      return std::nullopt;
    }
    case type::SRV: {
      if (rdlen < 7) return ParseError::BadRecord;
      Srv srv;
      srv.priority = static_cast<std::uint16_t>(rdata[0] << 8 | rdata[1]);
      srv.weight = static_cast<std::uint16_t>(rdata[2] << 8 | rdata[3]);
      srv.port = static_cast<std::uint16_t>(rdata[4] << 8 | rdata[5]);
      Reader inner(packet.first(start + rdlen));
      std::span<const std::uint8_t> skip;
      inner.bytes(start + 6, skip);
      if (auto e = inner.name(srv.target)) return e;
      rec.data = std::move(srv);
      return std::nullopt;
    }
    case type::TXT: {
      std::vector<std::string> strings;
      std::size_t i = 0;
      while (i < rdata.size()) {
        std::size_t len = rdata[i];
        if (i + 1 + len > rdata.size()) return ParseError::BadRecord;
        strings.emplace_back(reinterpret_cast<const char*>(rdata.data() + i + 1), len);
        i += 1 + len;
      }
      rec.data = std::move(strings);
      return std::nullopt;
    }
    default:
      rec.data = std::vector<std::uint8_t>(rdata.begin(), rdata.end());
      return std::nullopt;
  }
}

class Writer {
public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(const void* p, std::size_t n) {
    auto* b = static_cast<const std::uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  /// Writes `name`, pointing at an earlier copy of its longest known suffix.
  /// The suffixes seen are views into the message's own strings, which
  /// outlive the writer: a short list searched linearly beats a map here
  /// (answers hold a handful of names).
  void name(std::string_view name) {
    while (!name.empty()) {
      for (const auto& [suffix, offset] : offsets_)
        if (suffix.size() == name.size() && equal_ci(suffix, name)) {
          u16(static_cast<std::uint16_t>(0xC000 | offset));
          return;
        }
      if (out_.size() < 0x4000) offsets_.emplace_back(name, static_cast<std::uint16_t>(out_.size()));
      auto dot = name.find('.');
      std::string_view label = name.substr(0, dot);
      if (label.empty()) {  // "a..b": skip the empty label rather than end the name early
        name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
        continue;
      }
      if (label.size() > 63) label = label.substr(0, 63);
      u8(static_cast<std::uint8_t>(label.size()));
      bytes(label.data(), label.size());
      name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
    }
    u8(0);
  }
  std::size_t size() const { return out_.size(); }
  void patch16(std::size_t at, std::uint16_t v) {
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v);
  }
  /// Undoes everything written after `n` (a record that did not fit).
  void truncate(std::size_t n, std::size_t offsets) {
    out_.resize(n);
    offsets_.resize(offsets);
  }
  std::size_t offset_count() const { return offsets_.size(); }

private:
  static bool equal_ci(std::string_view a, std::string_view b) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      char x = a[i], y = b[i];
      if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
      if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
      if (x != y) return false;
    }
    return true;
  }
  std::vector<std::uint8_t>& out_;
  std::vector<std::pair<std::string_view, std::uint16_t>> offsets_;
};

void write_record(Writer& w, const Record& r) {
  w.name(r.name);
  w.u16(r.rtype);
  w.u16(r.rclass);
  w.u32(r.ttl);
  const std::size_t len_at = w.size();
  w.u16(0);
  const std::size_t start = w.size();
  std::visit(
      [&](const auto& d) {
        using D = std::decay_t<decltype(d)>;
        if constexpr (std::is_same_v<D, IpAddress>) {
          if (d.is_v4()) {
            auto b = d.to_v4().to_bytes();
            w.bytes(b.data(), b.size());
          } else {
            auto b = d.to_v6().to_bytes();
            w.bytes(b.data(), b.size());
          }
        } else if constexpr (std::is_same_v<D, std::string>) {
          w.name(d);
        } else if constexpr (std::is_same_v<D, Srv>) {
          w.u16(d.priority);
          w.u16(d.weight);
          w.u16(d.port);
          w.name(d.target);  // RFC 2782 says no compression; resolvers accept it, we keep it readable
        } else if constexpr (std::is_same_v<D, std::vector<std::string>>) {
          for (const auto& s : d) {
            std::string_view part = std::string_view(s).substr(0, 255);
            w.u8(static_cast<std::uint8_t>(part.size()));
            w.bytes(part.data(), part.size());
          }
        } else {
          w.bytes(d.data(), d.size());
        }
      },
      r.data);
  w.patch16(len_at, static_cast<std::uint16_t>(w.size() - start));
}

}  // namespace

std::string_view describe(ParseError e) {
  switch (e) {
    case ParseError::Truncated: return "truncated packet";
    case ParseError::BadLabel: return "bad label";
    case ParseError::NameTooLong: return "name longer than 255 bytes";
    case ParseError::PointerLoop: return "compression pointer loop or forward pointer";
    case ParseError::BadCount: return "section counts do not match the packet";
    case ParseError::BadRecord: return "malformed record";
  }
  return "malformed packet";
}

std::optional<Header> peek_header(std::span<const std::uint8_t> p) {
  if (p.size() < kHeader) return std::nullopt;
  return Header{static_cast<std::uint16_t>(p[0] << 8 | p[1]), static_cast<std::uint16_t>(p[2] << 8 | p[3])};
}

std::variant<Message, ParseError> parse(std::span<const std::uint8_t> packet) {
  Reader r(packet);
  Message m;
  std::uint16_t flags, qd, an, ns, ar;
  if (!r.u16(m.id) || !r.u16(flags) || !r.u16(qd) || !r.u16(an) || !r.u16(ns) || !r.u16(ar))
    return ParseError::Truncated;
  m.qr = flags & 0x8000;
  m.opcode = static_cast<std::uint8_t>((flags >> 11) & 0xF);
  m.aa = flags & 0x0400;
  m.tc = flags & 0x0200;
  m.rd = flags & 0x0100;
  m.ra = flags & 0x0080;
  m.ad = flags & 0x0020;
  m.cd = flags & 0x0010;
  m.rcode = static_cast<Rcode>(flags & 0xF);
  // Every entry takes at least 5 (question) or 11 (record) bytes: counts that
  // cannot fit are lies, refused before any allocation.
  const std::size_t left = packet.size() - kHeader;
  if (std::size_t{qd} * 5 + (std::size_t{an} + ns + ar) * 11 > left) return ParseError::BadCount;
  for (std::uint16_t i = 0; i < qd; ++i) {
    Question q;
    if (auto e = r.name(q.name)) return *e;
    if (!r.u16(q.qtype) || !r.u16(q.qclass)) return ParseError::Truncated;
    m.questions.push_back(std::move(q));
  }
  auto section = [&](std::uint16_t count, std::vector<Record>& out) -> std::optional<ParseError> {
    for (std::uint16_t i = 0; i < count; ++i) {
      Record rec;
      bool is_opt = false;
      if (auto e = parse_record(r, rec, packet, is_opt, m)) return e;
      if (!is_opt) out.push_back(std::move(rec));
    }
    return std::nullopt;
  };
  if (auto e = section(an, m.answers)) return *e;
  if (auto e = section(ns, m.authority)) return *e;
  if (auto e = section(ar, m.additional)) return *e;
  return m;
}

std::vector<std::uint8_t> serialize(const Message& m, std::size_t limit) {
  std::vector<std::uint8_t> out;
  out.reserve(512);
  Writer w(out);
  auto flags = [&](bool tc) {
    return static_cast<std::uint16_t>((m.qr ? 0x8000 : 0) | (m.opcode & 0xF) << 11 | (m.aa ? 0x0400 : 0) |
                                      (tc ? 0x0200 : 0) | (m.rd ? 0x0100 : 0) | (m.ra ? 0x0080 : 0) |
                                      (m.ad ? 0x0020 : 0) | (m.cd ? 0x0010 : 0) | static_cast<std::uint8_t>(m.rcode));
  };
  w.u16(m.id);
  w.u16(flags(m.tc));
  w.u16(static_cast<std::uint16_t>(m.questions.size()));
  w.u16(0);
  w.u16(0);
  w.u16(0);
  for (const auto& q : m.questions) {
    w.name(q.name);
    w.u16(q.qtype);
    w.u16(q.qclass);
  }
  const std::size_t opt_size = m.edns_udp_size ? 11 : 0;
  std::uint16_t counts[3] = {0, 0, 0};
  bool truncated = false;
  const std::vector<Record>* sections[3] = {&m.answers, &m.authority, &m.additional};
  for (int s = 0; s < 3 && !truncated; ++s)
    for (const auto& rec : *sections[s]) {
      const std::size_t before = w.size(), saved = w.offset_count();
      write_record(w, rec);
      if (w.size() + opt_size > limit) {
        w.truncate(before, saved);
        truncated = s < 2;  // dropping additional records does not need TC
        break;
      }
      ++counts[s];
    }
  if (m.edns_udp_size) {
    w.u8(0);  // root
    w.u16(type::OPT);
    w.u16(*m.edns_udp_size);
    w.u32(m.edns_do ? 0x8000u : 0u);
    w.u16(0);
    counts[2]++;
  }
  if (truncated) w.patch16(2, flags(true));
  w.patch16(6, counts[0]);
  w.patch16(8, counts[1]);
  w.patch16(10, counts[2]);
  return out;
}

void echo_question_case(std::span<const std::uint8_t> query, std::span<std::uint8_t> reply) {
  auto one_question = [](std::span<const std::uint8_t> p) { return p.size() > kHeader && p[4] == 0 && p[5] == 1; };
  if (!one_question(query) || !one_question(reply)) return;
  auto lower_byte = [](std::uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<std::uint8_t>(c - 'A' + 'a') : c; };
  // Check the whole name first: nothing is copied unless all of it matches.
  std::size_t at = kHeader;
  for (;;) {
    if (at >= query.size() || at >= reply.size()) return;
    const std::uint8_t len = query[at];
    if (len != reply[at] || (len & 0xC0) != 0) return;
    if (len == 0) break;
    if (at + 1 + len > query.size() || at + 1 + len > reply.size()) return;
    for (std::size_t i = 1; i <= len; ++i)
      if (lower_byte(query[at + i]) != lower_byte(reply[at + i])) return;
    at += 1 + std::size_t{len};
  }
  std::copy(query.begin() + kHeader, query.begin() + static_cast<std::ptrdiff_t>(at), reply.begin() + kHeader);
}

std::string reverse_name(const IpAddress& address) {
  if (address.is_v4()) {
    auto b = address.to_v4().to_bytes();
    return fmt::format("{}.{}.{}.{}.in-addr.arpa", b[3], b[2], b[1], b[0]);
  }
  auto b = address.to_v6().to_bytes();
  std::string out;
  for (int i = 15; i >= 0; --i)
    out += fmt::format("{:x}.{:x}.", b[static_cast<std::size_t>(i)] & 0xF, b[static_cast<std::size_t>(i)] >> 4);
  return out + "ip6.arpa";
}

std::string lower(std::string_view name) {
  std::string out(name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace berth::net::dns
