// SPDX-License-Identifier: Apache-2.0
// The DNS codec, the zone's answers and resolv.conf handling.
#include "berth/core/fs.hpp"
#include "berth/net/dns/message.hpp"
#include "berth/net/dns/records.hpp"
#include "berth/net/dns/records_dir.hpp"
#include "berth/net/dns/resolv_conf.hpp"
#include "berth/net/dns/server.hpp"
#include "dns/udp_replies.hpp"  // libnet/src: the sender is internal to the server

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <unistd.h>

using namespace berth::net;
using namespace berth::net::dns;

namespace {

IpAddress A(std::string_view s) { return parse_address(s).value(); }

std::vector<std::uint8_t> query_packet(std::string name, std::uint16_t qtype, bool edns = false, std::uint16_t id = 7) {
  Message m;
  m.id = id;
  m.rd = true;
  m.questions.push_back({std::move(name), qtype, kClassIn});
  if (edns) m.edns_udp_size = 1232;
  return serialize(m);
}

Message parsed(const std::vector<std::uint8_t>& p) {
  auto r = parse(p);
  REQUIRE(std::holds_alternative<Message>(r));
  return std::get<Message>(r);
}

Zone test_zone() {
  NetworkRecords a{.name = "front",
                   .subnets = {*Subnet::parse("10.88.0.0/16"), *Subnet::parse("fd00:88::/64")},
                   .listen = {A("10.88.0.1")},
                   .containers = {{"web", {"www"}, {A("10.88.0.2"), A("fd00:88::2")}}, {"db", {}, {A("10.88.0.3")}}},
                   .srv = {{"_http._tcp.web", {0, 5, 80, "web"}}},
                   .txt = {{"web", {"v=1", "hello world"}}}};
  NetworkRecords b{.name = "back", .subnets = {*Subnet::parse("10.90.0.0/24")}, .listen = {A("10.90.0.1")},
                   .internal = true, .containers = {{"cache", {}, {A("10.90.0.2")}}}};
  return Zone({a, b});
}

Message ask(const Zone& z, const std::string& name, std::uint16_t qtype, std::string_view client = "10.88.0.9") {
  auto r = answer(z, parsed(query_packet(name, qtype)), A(client));
  REQUIRE(r);
  return parsed(serialize(*r));
}

}  // namespace

TEST_CASE("DNS messages round-trip with compression", "[dns]") {
  Message m;
  m.id = 0xbeef;
  m.qr = m.aa = m.rd = m.ra = true;
  m.questions.push_back({"web.berth.internal", type::A, kClassIn});
  m.answers.push_back({"web.berth.internal", type::A, kClassIn, 5, A("10.88.0.2")});
  m.answers.push_back({"web.berth.internal", type::AAAA, kClassIn, 5, A("fd00::2")});
  m.answers.push_back({"2.0.88.10.in-addr.arpa", type::PTR, kClassIn, 5, std::string("web.berth.internal")});
  m.answers.push_back({"_http._tcp.web.berth.internal", type::SRV, kClassIn, 5, Srv{1, 2, 80, "web.berth.internal"}});
  m.answers.push_back({"web.berth.internal", type::TXT, kClassIn, 5, std::vector<std::string>{"a", "b c"}});
  m.edns_udp_size = 1232;
  auto wire = serialize(m);
  CHECK(parsed(wire) == m);
  // The repeated owner name costs 2 bytes after the first time.
  Message one = m;
  one.answers.resize(1);
  Message two = one;
  two.answers.push_back(m.answers[0]);
  CHECK(serialize(two).size() - serialize(one).size() == 2 + 10 + 4);
}

TEST_CASE("names are case-insensitive and reverse names are built right", "[dns]") {
  auto m = parsed(query_packet("WeB.Berth.INTERNAL", type::A));
  CHECK(m.questions[0].name == "web.berth.internal");
  CHECK(reverse_name(A("10.88.0.2")) == "2.0.88.10.in-addr.arpa");
  CHECK(reverse_name(A("fd00::2")).starts_with("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"));
}

TEST_CASE("malformed packets get FORMERR or are dropped, never a crash", "[dns][bad-input]") {
  const std::vector<std::uint8_t> good = query_packet("web", type::A);
  auto with = [&](auto&& edit) {
    auto p = good;
    edit(p);
    return p;
  };
  struct Case {
    const char* what;
    std::vector<std::uint8_t> packet;
  };
  std::vector<std::uint8_t> label64 = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 64};
  label64.insert(label64.end(), 64, 'a');
  label64.insert(label64.end(), {0, 0, 1, 0, 1});
  std::vector<std::uint8_t> name300 = {0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 5; ++i) {
    name300.push_back(60);
    name300.insert(name300.end(), 60, 'b');
  }
  name300.insert(name300.end(), {0, 0, 1, 0, 1});
  std::vector<Case> cases = {
      {"truncated", std::vector<std::uint8_t>(good.begin(), good.begin() + 15)},
      {"header only, qdcount 1", std::vector<std::uint8_t>(good.begin(), good.begin() + 12)},
      {"compression loop", {0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1}},
      {"forward pointer", {0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 20, 0, 1, 0, 1, 0, 0, 3, 'a', 'b', 'c', 0}},
      {"64-byte label", label64},
      {"300-byte name", name300},
      {"qdcount 0", with([](auto& p) { p[5] = 0; })},
      {"qdcount 50", with([](auto& p) { p[5] = 50; })},
      {"ancount lies", with([](auto& p) { p[7] = 200; })},
      {"wrong class", with([](auto& p) { p[p.size() - 1] = 3; })},
      {"extended label type", {0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 'x', 0, 0, 1, 0, 1}},
      {"dot inside a label", {0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 'b', 0, 0, 1, 0, 1}},
      {"empty", {}},
      {"short", {0, 1, 2}},
  };
  Zone z = test_zone();
  for (const auto& c : cases) {
    INFO(c.what);
    auto r = parse(c.packet);
    std::optional<Message> reply;
    if (auto* m = std::get_if<Message>(&r)) {
      reply = answer(z, *m, A("10.88.0.9"));
      REQUIRE(reply);  // parsed, but not a valid query: still answered
    }
    if (reply) {
      CHECK(reply->rcode == Rcode::FormErr);
    } else if (auto h = peek_header(c.packet)) {
      // Unparsable but with a header: the server answers FORMERR with this id
      // (checked end to end in tests/cli/dns_server_test.cpp).
      CHECK(h->id == (c.packet[0] << 8 | c.packet[1]));
    } else {
      CHECK(c.packet.size() < 12);  // not even a header: dropped
    }
  }
}

TEST_CASE("the zone answers names, aliases, PTR, SRV and TXT with NODATA and NXDOMAIN right", "[dns]") {
  Zone z = test_zone();
  auto a = ask(z, "web", type::A);
  REQUIRE(a.answers.size() == 1);
  CHECK(std::get<IpAddress>(a.answers[0].data) == A("10.88.0.2"));
  CHECK(a.aa);
  CHECK(a.answers[0].ttl == 5);
  CHECK(ask(z, "www.berth.internal", type::A).answers.size() == 1);
  CHECK(std::get<IpAddress>(ask(z, "web", type::AAAA).answers.at(0).data) == A("fd00:88::2"));
  auto nodata = ask(z, "db", type::AAAA);
  CHECK(nodata.rcode == Rcode::NoError);
  CHECK(nodata.answers.empty());
  CHECK(ask(z, "nope.berth.internal", type::A).rcode == Rcode::NxDomain);
  auto ptr = ask(z, "2.0.88.10.in-addr.arpa", type::PTR);
  CHECK(std::get<std::string>(ptr.answers.at(0).data) == "web.berth.internal");
  CHECK(ask(z, "9.9.88.10.in-addr.arpa", type::PTR).rcode == Rcode::NxDomain);  // ours: never forwarded
  auto srv = ask(z, "_http._tcp.web.berth.internal", type::SRV);
  CHECK(std::get<Srv>(srv.answers.at(0).data) == Srv{0, 5, 80, "web.berth.internal"});
  auto txt = ask(z, "web", type::TXT);
  CHECK(std::get<std::vector<std::string>>(txt.answers.at(0).data) == std::vector<std::string>{"v=1", "hello world"});
}

TEST_CASE("each network sees only its own names, and internal networks get no forwarding", "[dns]") {
  Zone z = test_zone();
  CHECK(ask(z, "cache", type::A, "10.90.0.5").answers.size() == 1);
  CHECK(ask(z, "cache.berth.internal", type::A, "10.88.0.9").rcode == Rcode::NxDomain);
  CHECK(ask(z, "web.berth.internal", type::A, "10.90.0.5").rcode == Rcode::NxDomain);
  CHECK(ask(z, "example.com", type::A, "10.90.0.5").rcode == Rcode::Refused);
  CHECK_FALSE(answer(z, parsed(query_packet("example.com", type::A)), A("10.88.0.9")));  // forwarded
}

TEST_CASE("an answer too big for the client is truncated with TC", "[dns]") {
  ContainerRecords many{"many", {}, {}};
  for (int i = 2; i < 80; ++i) many.addresses.push_back(A("10.88.1." + std::to_string(i)));
  Zone z({NetworkRecords{.name = "n", .subnets = {*Subnet::parse("10.88.0.0/16")}, .containers = {many}}});
  auto r = answer(z, parsed(query_packet("many", type::A)), A("10.88.0.9"));
  REQUIRE(r);
  auto small = parsed(serialize(*r, 512));
  CHECK(small.tc);
  CHECK(small.answers.size() < 78);
  CHECK(small.questions.size() == 1);
  auto full = parsed(serialize(*r, 65535));
  CHECK_FALSE(full.tc);
  CHECK(full.answers.size() == 78);
}

TEST_CASE("the fast path writes the same answer as the general path, or leaves the query to it", "[dns]") {
  ContainerRecords many{"many", {}, {}};  // 40 addresses: more than 512 bytes, less than EDNS's 1232
  for (int i = 2; i < 42; ++i) many.addresses.push_back(A("10.88.1." + std::to_string(i)));
  NetworkRecords n{.name = "n", .subnets = {*Subnet::parse("10.88.0.0/16")},
                   .containers = {{"web", {"www"}, {A("10.88.0.2"), A("fd00:88::2")}}, {"v4only", {}, {A("10.88.0.3")}},
                                  many},
                   .srv = {{"_http._tcp.web", {0, 5, 80, "web"}}}};
  const Zone z({n});
  const IpAddress client = A("10.88.0.9");
  auto general = [&](const std::vector<std::uint8_t>& q, std::size_t limit) {
    Message m = parsed(q);
    auto r = answer(z, m, client);
    REQUIRE(r);
    auto out = serialize(*r, limit == 0 ? udp_limit(m) : limit);
    echo_question_case(q, out);
    return out;
  };
  std::vector<std::uint8_t> fast;
  struct Case {
    std::string name;
    std::uint16_t qtype;
    bool edns;
  };
  // Answered by the fast path: A and AAAA, with and without EDNS, any case, NODATA.
  for (const Case& c : {Case{"web", type::A, false}, Case{"WWW.Berth.Internal", type::A, true},
                        Case{"web.berth.internal", type::AAAA, false}, Case{"v4only", type::AAAA, true},
                        Case{"many", type::A, true}}) {
    INFO(c.name << " " << c.qtype << " edns " << c.edns);
    auto q = query_packet(c.name, c.qtype, c.edns, 4242);
    REQUIRE(answer_address_query(z, q, client, 0, fast));
    CHECK(fast == general(q, 0));
  }
  CHECK(parsed(fast).answers.size() == 40);
  // Left to the general path: other types, missing names, clients of no
  // network, answers that need truncation, and anything unusual.
  std::vector<std::uint8_t> untouched{1, 2, 3};
  fast = untouched;
  CHECK_FALSE(answer_address_query(z, query_packet("_http._tcp.web", type::SRV), client, 0, fast));
  CHECK_FALSE(answer_address_query(z, query_packet("missing", type::A), client, 0, fast));
  CHECK_FALSE(answer_address_query(z, query_packet("example.com", type::A), client, 0, fast));
  CHECK_FALSE(answer_address_query(z, query_packet("web", type::A), A("192.0.2.1"), 0, fast));
  CHECK_FALSE(answer_address_query(z, query_packet("many", type::A), client, 0, fast));  // > 512 bytes
  CHECK(answer_address_query(z, query_packet("many", type::A), client, 65535, fast));    // TCP
  fast = untouched;
  auto response = query_packet("web", type::A);
  response[2] |= 0x80;  // QR: a response, dropped by the general path
  CHECK_FALSE(answer_address_query(z, response, client, 0, fast));
  auto notify = query_packet("web", type::A);
  notify[2] |= 4 << 3;  // opcode NOTIFY
  CHECK_FALSE(answer_address_query(z, notify, client, 0, fast));
  auto cut = query_packet("web", type::A, true);
  cut.resize(cut.size() - 3);  // an OPT record cut short
  CHECK_FALSE(answer_address_query(z, cut, client, 0, fast));
  CHECK(fast == untouched);
}

TEST_CASE("answers spell the question as the client did (0x20 case randomisation)", "[dns]") {
  const Zone z = test_zone();
  const IpAddress client = A("10.88.0.9");
  auto name_bytes = [](const std::vector<std::uint8_t>& p) {
    // The question's name: from the header to the root label.
    std::size_t end = 12;
    while (p[end] != 0) end += 1 + p[end];
    return std::vector<std::uint8_t>(p.begin() + 12, p.begin() + static_cast<std::ptrdiff_t>(end + 1));
  };
  // A raw query keeps its spelling (serialize() lower-cases names).
  auto mixed = query_packet("web.berth.internal", type::A);
  for (std::size_t i : {13u, 15u, 18u, 20u}) mixed[i] = static_cast<std::uint8_t>(mixed[i] - 'a' + 'A');  // WeB.bErTh.
  std::vector<std::uint8_t> fast;
  REQUIRE(answer_address_query(z, mixed, client, 0, fast));
  CHECK(name_bytes(fast) == name_bytes(mixed));
  // The general path (TXT here) echoes it too.
  auto txt = mixed;
  txt[txt.size() - 3] = type::TXT;
  auto r = answer(z, parsed(txt), client);
  REQUIRE(r);
  auto general = serialize(*r);
  CHECK(name_bytes(general) != name_bytes(txt));
  echo_question_case(txt, general);
  CHECK(name_bytes(general) == name_bytes(txt));
  CHECK(parsed(general).answers.size() == 1);
  // A reply about another name is left alone.
  auto other = serialize(*answer(z, parsed(query_packet("db", type::A)), client));
  const auto before = other;
  echo_question_case(mixed, other);
  CHECK(other == before);
}

TEST_CASE("resolv.conf: upstreams, the systemd-resolved stub, and container files", "[dns]") {
  berth::test::TempDir dir;
  auto rc = parse_resolv_conf("# c\nnameserver 192.0.2.1\nnameserver fe80::1%eth0\nnameserver bad\n"
                              "search a.example b.example\noptions ndots:2 edns0\n");
  CHECK(rc.nameservers == std::vector<IpAddress>{A("192.0.2.1")});
  CHECK(rc.search == std::vector<std::string>{"a.example", "b.example"});
  CHECK(rc.options == std::vector<std::string>{"ndots:2", "edns0"});
  REQUIRE(berth::core::write_file_atomic(dir.path / "resolv.conf", "nameserver 127.0.0.53\noptions edns0\n"));
  REQUIRE(berth::core::write_file_atomic(dir.path / "upstream.conf", "nameserver 192.0.2.7\nnameserver 10.88.0.1\n"));
  auto up = host_upstreams(dir.path / "resolv.conf", dir.path / "upstream.conf", {A("10.88.0.1")});
  REQUIRE(up);
  CHECK(*up == std::vector<IpAddress>{A("192.0.2.7")});  // never itself
  CHECK(container_resolv_conf({A("10.88.0.1")}, "berth.internal", {"corp.example"}) ==
        "# Generated by berth.\nnameserver 10.88.0.1\nsearch berth.internal corp.example\noptions ndots:0\n");
}

TEST_CASE("records files parse and name what is wrong", "[dns]") {
  auto n = parse_network_records(R"({"name":"front","listen":["10.88.0.1"],"subnets":["10.88.0.0/16"],
    "containers":[{"name":"web","aliases":["www"],"addresses":["10.88.0.2"]}],
    "srv":[{"name":"_http._tcp.web","target":"web","port":80}],"txt":[{"name":"web","values":["x"]}]})");
  REQUIRE(n);
  CHECK(n->containers.at(0).aliases.at(0) == "www");
  CHECK(n->srv.at(0).srv.port == 80);
  CHECK(parse_network_records(R"({"listen":[]})").error().message() == "'name' is missing");
  CHECK(parse_network_records(R"({"name":"x","containers":[{"name":"a","addresses":["1.2.3"]}]})").error().message() ==
        "containers: container 'a': '1.2.3' is not an IP address");
  CHECK_THAT(parse_network_records("{").error().message(), Catch::StartsWith("not JSON"));
}

TEST_CASE("the registry adds and removes a container's records on a network", "[dns]") {
  Registry reg;
  reg.set_network("front", {*Subnet::parse("10.88.0.0/16")}, {A("10.88.0.1")}, false);
  CHECK(reg.add_container("front", {"web", {"www"}, {A("10.88.0.2")}}));
  CHECK_FALSE(reg.add_container("nowhere", {"x", {}, {}}));
  CHECK(reg.add_srv("front", {"_http._tcp.web", {0, 0, 80, "web"}}));
  CHECK(reg.add_txt("front", {"web", {"a"}}));
  auto z = reg.snapshot();
  CHECK(ask(*z, "www.berth.internal", type::A).answers.size() == 1);
  CHECK(ask(*z, "_http._tcp.web.berth.internal", type::SRV).answers.size() == 1);
  CHECK(reg.add_container("front", {"web", {}, {A("10.88.0.9")}}));  // replaced, not doubled
  CHECK(std::get<IpAddress>(ask(*reg.snapshot(), "web", type::A).answers.at(0).data) == A("10.88.0.9"));
  CHECK(reg.remove_container("front", "web"));
  CHECK_FALSE(reg.remove_container("front", "web"));
  auto after = ask(*reg.snapshot(), "web.berth.internal", type::A);
  CHECK(after.rcode == Rcode::NoError);  // its TXT record still names it: NODATA
  CHECK(after.answers.empty());
  CHECK(ask(*reg.snapshot(), "www.berth.internal", type::A).rcode == Rcode::NxDomain);
  CHECK(ask(*z, "web", type::A).answers.size() == 1);  // an old snapshot is unchanged
}

TEST_CASE("UDP answers of one size to one client leave grouped and arrive as separate datagrams", "[dns][udp]") {
  auto bound = [] {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  };
  const int server = bound(), one = bound(), two = bound();
  auto address_of = [](int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0);
    return std::pair{ss, len};
  };
  const auto [to_one, one_len] = address_of(one);
  const auto [to_two, two_len] = address_of(two);
  // 40 answers: to client one 30 of 100 bytes and 5 of 60, to client two 5 of 100, interleaved.
  std::vector<std::vector<std::uint8_t>> payloads;
  std::vector<berth::net::dns::UdpReply> replies;
  for (int i = 0; i < 40; ++i) payloads.emplace_back(i % 8 == 7 ? 60 : 100, static_cast<std::uint8_t>(i));
  for (int i = 0; i < 40; ++i) {
    const bool second = i % 8 == 3;
    replies.push_back({payloads[i].data(), payloads[i].size(), second ? &to_two : &to_one, second ? two_len : one_len});
  }
  berth::net::dns::UdpReplySender sender;
  sender.send(server, replies);
  CHECK_FALSE(sender.gso_refused(server));  // loopback takes GSO
  CHECK(sender.messages_in_last_send() == 3);  // 30 x 100 and 5 x 60 bytes to one, 5 x 100 to two

  auto receive = [](int fd, std::size_t count) {
    std::multiset<std::pair<std::size_t, int>> got;  // (size, first byte)
    std::uint8_t buf[2048];
    for (std::size_t i = 0; i < count; ++i) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.insert({static_cast<std::size_t>(n), buf[0]});
    }
    return got;
  };
  std::multiset<std::pair<std::size_t, int>> want_one, want_two;
  for (int i = 0; i < 40; ++i) (i % 8 == 3 ? want_two : want_one).insert({payloads[i].size(), i});
  CHECK(receive(one, 35) == want_one);
  CHECK(receive(two, 5) == want_two);
  for (int fd : {server, one, two}) ::close(fd);
}
