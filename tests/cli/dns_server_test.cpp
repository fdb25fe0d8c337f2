// SPDX-License-Identifier: Apache-2.0
// berth-dns end to end: `dig` from container namespaces, dnsmasq as the
// upstream resolver in the "outside" namespace.
#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/net/dns/message.hpp"
#include "berth/net/native/native_backend.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"
#include "world.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <set>
#include <thread>

using namespace berth;
using namespace berth::net;
using namespace std::chrono_literals;
using test::World;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

/// dnsmasq's option for a TXT record of 8 strings of 250 characters: too
/// big for one UDP answer of 1232 bytes, so it comes back truncated over UDP.
std::string big_txt_record() {
  std::string option = "--txt-record=big.example.test";
  for (char c = 'a'; c < 'i'; ++c) option += "," + std::string(250, c);
  return option;
}

struct DnsWorld {
  test::TempDir dir;
  World world;
  fs::path records = dir.path / "records";
  std::unique_ptr<Backend> front, back;
  std::map<std::string, Attachment> att;
  std::optional<core::Child> dns, dnsmasq;

  DnsWorld() {
    fs::create_directories(records);
    auto fw = std::shared_ptr<Firewall>(make_nft_firewall({}).value());
    front = make_native_backend({.network = {.name = "front", .bridge = "front0",
                                             .subnet = Subnet::parse("10.88.0.0/16").value(),
                                             .subnet6 = Subnet::parse("fd00:88::/64").value()},
                                 .state_dir = dir.path / "net", .firewall = fw})
                .value();
    back = make_native_backend({.network = {.name = "back", .bridge = "back0",
                                            .subnet = Subnet::parse("10.90.0.0/24").value(), .internal = true},
                                .state_dir = dir.path / "net", .firewall = fw})
               .value();
    for (const char* c : {"web", "db", "client"}) attach(*front, c);
    for (const char* c : {"cache", "client2"}) attach(*back, c);
    REQUIRE(write_records());
    // Upstreams: 192.0.2.77 is silent (nobody has it), dnsmasq answers on 192.0.2.2.
    dnsmasq = core::run_in_netns(world.outside(), [] {
                return core::Child::spawn({.program = "dnsmasq",
                                           .args = {"--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
                                                    "--listen-address=192.0.2.2", "--address=/example.test/192.0.2.99",
                                                    "--address=/example.test/2001:db8::99", "--pid-file=",
                                                    big_txt_record()}});
              }).value();
    dns = core::Child::spawn({.program = BERTH_DNS,
                              .args = {"--records", records.string(), "--upstream", "192.0.2.77", "--upstream",
                                       test::kOutsideV4, "--upstream-fallback-ms", "1000", "--log-level", "warn"}},
                             {.stderr_path = dir.path / "berth-dns.log"})
              .value();
    for (int i = 0; i < 100 && dig("client", {"+short", "web.berth.internal"}).empty(); ++i)
      std::this_thread::sleep_for(20ms);
    for (int i = 0; i < 100 && World::run_in(world.outside(), {.program = "dig", .args = {"+short", "+time=1", "@192.0.2.2", "a.example.test"}})->out.empty(); ++i)
      std::this_thread::sleep_for(20ms);
  }

  void attach(Backend& b, const std::string& name) {
    att[name] = b.setup({.container_id = name, .netns = world.container(name).path(), .hostname = name}).value();
  }

  /// Writes both networks' records files; false when one could not be
  /// written (no REQUIRE inside: a writer thread calls it, and Catch's
  /// assertions are for the test's own thread).
  [[nodiscard]] bool write_records(std::vector<std::string> extra_aliases = {}) {
    for (auto* network : {"front", "back"}) {
      json::array containers;
      for (const auto& [name, a] : att) {
        if (a.network != network) continue;
        json::array addrs, aliases;
        for (const auto& x : a.addresses) addrs.emplace_back(x.address.to_string());
        if (name == "web") {
          aliases.emplace_back("www");
          for (const auto& e : extra_aliases) aliases.emplace_back(e);
        }
        json::object c;
        c["name"] = name;
        c["aliases"] = std::move(aliases);
        c["addresses"] = std::move(addrs);
        containers.push_back(std::move(c));
      }
      json::object o{{"name", network}, {"containers", containers}};
      if (std::string(network) == "front") {
        o["listen"] = json::array{"10.88.0.1", "fd00:88::1"};
        o["subnets"] = json::array{"10.88.0.0/16", "fd00:88::/64"};
        o["srv"] = json::array{json::object{{"name", "_http._tcp.web"}, {"target", "web"}, {"port", 80}}};
        o["txt"] = json::array{json::object{{"name", "web"}, {"values", json::array{"role=frontend"}}}};
      } else {
        o["listen"] = json::array{"10.90.0.1"};
        o["subnets"] = json::array{"10.90.0.0/24"};
        o["internal"] = true;
      }
      if (!core::write_file_atomic(records / (std::string(network) + ".json"), json::serialize(o))) return false;
    }
    return true;
  }

  /// dig from a container; `server` defaults to its network's gateway.
  std::string dig(const std::string& from, std::vector<std::string> args, std::string server = {}) {
    if (server.empty()) server = att.at(from).gateways.at(0).to_string();
    args.insert(args.begin(), {"+time=2", "+tries=1", "@" + server});
    auto r = World::run_in(world.container_path(from), {.program = "dig", .args = args});
    REQUIRE(r);
    std::string out = r->out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  std::string status(const std::string& from, std::vector<std::string> args) {
    args.insert(args.begin(), "+noall");
    args.insert(args.begin() + 1, "+comments");
    auto out = dig(from, args);
    auto at = out.find("status: ");
    if (at == std::string::npos) return "no answer";
    return out.substr(at + 8, out.find(',', at) - at - 8);
  }
};

}  // namespace

TEST_CASE_METHOD(DnsWorld, "dig resolves A, AAAA, PTR, SRV and TXT from a container", "[dns-server]") {
  CHECK(dig("client", {"+short", "web.berth.internal", "A"}) == att["web"].addresses[0].address.to_string());
  CHECK(dig("client", {"+short", "web", "A"}) == att["web"].addresses[0].address.to_string());
  CHECK(dig("client", {"+short", "www.berth.internal", "A"}) == att["web"].addresses[0].address.to_string());
  CHECK(dig("client", {"+short", "web.berth.internal", "AAAA"}) == att["web"].addresses[1].address.to_string());
  CHECK(dig("client", {"+short", "-x", att["db"].addresses[0].address.to_string()}) == "db.berth.internal.");
  CHECK(dig("client", {"+short", "_http._tcp.web.berth.internal", "SRV"}) == "0 0 80 web.berth.internal.");
  CHECK(dig("client", {"+short", "web.berth.internal", "TXT"}) == "\"role=frontend\"");
  // Answers spell the name as asked (resolvers that randomise case check it), on the fast path and the general one.
  CHECK_THAT(dig("client", {"+noall", "+answer", "WeB.Berth.Internal", "A"}), Catch::StartsWith("WeB.Berth.Internal."));
  CHECK_THAT(dig("client", {"+noall", "+answer", "WeB.Berth.Internal", "TXT"}), Catch::StartsWith("WeB.Berth.Internal."));
  // Over IPv6 to the gateway's IPv6 address as well.
  CHECK(dig("client", {"+short", "db.berth.internal"}, "fd00:88::1") == att["db"].addresses[0].address.to_string());
}

TEST_CASE_METHOD(DnsWorld, "NODATA for a name without that type, NXDOMAIN only for a missing name", "[dns-server]") {
  CHECK(status("client", {"db.berth.internal", "TXT"}) == "NOERROR");
  CHECK(dig("client", {"+short", "db.berth.internal", "TXT"}).empty());
  CHECK(status("client", {"missing.berth.internal", "A"}) == "NXDOMAIN");
}

TEST_CASE_METHOD(DnsWorld, "a network cannot resolve another network's names", "[dns-server]") {
  CHECK(status("client2", {"web.berth.internal", "A"}) == "NXDOMAIN");
  CHECK(dig("client2", {"+short", "cache.berth.internal"}) == att["cache"].addresses[0].address.to_string());
  CHECK(status("client", {"cache.berth.internal", "A"}) == "NXDOMAIN");
}

TEST_CASE_METHOD(DnsWorld, "TCP answers in full what UDP must truncate", "[dns-server]") {
  std::vector<std::string> many;
  for (int i = 0; i < 40; ++i) many.push_back(fmt::format("alias-with-a-rather-long-name-{}", i));
  REQUIRE(write_records(many));
  std::this_thread::sleep_for(200ms);  // the reload
  // A container with 80 addresses needs more than 512 bytes.
  json::array addrs;
  for (int i = 10; i < 90; ++i) addrs.emplace_back(fmt::format("10.88.7.{}", i));
  json::object file = json::parse(core::read_file(records / "front.json").value()).as_object();
  json::object big;
  big["name"] = "many";
  big["addresses"] = addrs;
  file["containers"].as_array().push_back(std::move(big));
  REQUIRE(core::write_file_atomic(records / "front.json", json::serialize(file)));
  std::this_thread::sleep_for(200ms);
  auto udp = dig("client", {"+noedns", "+ignore", "+noall", "+comments", "many.berth.internal"});
  CHECK_THAT(udp, Catch::Contains(" tc"));
  auto tcp = dig("client", {"+tcp", "+short", "many.berth.internal"});
  CHECK(std::count(tcp.begin(), tcp.end(), '\n') + 1 == 80);
  auto edns = dig("client", {"+bufsize=4096", "+short", "many.berth.internal"});
  CHECK(std::count(edns.begin(), edns.end(), '\n') + 1 == 80);
}

TEST_CASE_METHOD(DnsWorld, "outside names are forwarded, quickly even when the first upstream is silent",
                 "[dns-server]") {
  // berth-dns runs with a 1 s fallback here, so the two cases below are far apart in time.
  auto start = std::chrono::steady_clock::now();
  CHECK(dig("client", {"+short", "www.example.test"}) == "192.0.2.99");
  CHECK(std::chrono::steady_clock::now() - start < 2500ms);  // well within a client's 5 s
  // The silent upstream is remembered: the next query goes to dnsmasq first.
  start = std::chrono::steady_clock::now();
  CHECK(dig("client", {"+short", "api.example.test", "AAAA"}) == "2001:db8::99");
  CHECK(std::chrono::steady_clock::now() - start < 800ms);
}

TEST_CASE_METHOD(DnsWorld, "when no upstream answers, the client hears SERVFAIL before its own timeout",
                 "[dns-server]") {
  REQUIRE(dnsmasq->kill(SIGKILL));
  (void)dnsmasq->wait();
  // berth-dns gives up after 3 s; dig waits 5 s, as a resolver does. The
  // answer spells the question as it was asked (resolvers using 0x20 check it).
  const auto start = std::chrono::steady_clock::now();
  auto out = dig("client", {"+time=5", "+noall", "+comments", "+question", "Lost.Example.TEST", "A"});
  CHECK(std::chrono::steady_clock::now() - start < 4500ms);
  CHECK_THAT(out, Catch::Contains("status: SERVFAIL"));
  CHECK_THAT(out, Catch::Contains(";Lost.Example.TEST.\t"));
}

TEST_CASE_METHOD(DnsWorld, "an internal network gets no forwarding at all", "[dns-server]") {
  CHECK(status("client2", {"www.example.test", "A"}) == "REFUSED");
  CHECK(dig("client2", {"+short", "www.example.test"}).empty());
}

TEST_CASE_METHOD(DnsWorld, "rewriting the records directory while dig queries in a loop fails no query",
                 "[dns-server]") {
  std::atomic<bool> done{false}, write_failed{false};
  std::thread writer([&] {
    for (int i = 0; i < 30; ++i) {
      if (!write_records({fmt::format("gen-{}", i)})) write_failed = true;
      if (i % 5 == 0) (void)dns->kill(SIGHUP);
      std::this_thread::sleep_for(15ms);
    }
    done = true;
  });
  // Query for as long as the records keep changing, and at least 30 times.
  int failures = 0, total = 0;
  while (!done || total < 30) {
    ++total;
    if (dig("client", {"+short", "web.berth.internal"}) != att["web"].addresses[0].address.to_string()) ++failures;
  }
  writer.join();
  CHECK_FALSE(write_failed);
  CHECK(failures == 0);
  CHECK(dig("client", {"+short", "gen-29.berth.internal"}) == att["web"].addresses[0].address.to_string());
}

TEST_CASE_METHOD(DnsWorld, "a network taken out of the records stops being served, and comes back when put back",
                 "[dns-server]") {
  // Its listen socket closes (its serving thread stops) while the other network keeps answering.
  const auto back_json = records / "back.json";
  const std::string saved = core::read_file(back_json).value();
  fs::remove(back_json);
  (void)dns->kill(SIGHUP);
  std::this_thread::sleep_for(300ms);  // the reload; nothing is sent to the removed address meanwhile
  // TCP is served by the thread that did the reload: it must not be stuck
  // waiting for the removed address's UDP thread to notice.
  CHECK(dig("client", {"+tcp", "+short", "web.berth.internal"}) == att["web"].addresses[0].address.to_string());
  std::string gone;
  for (int i = 0; i < 50; ++i) {
    gone = status("client2", {"cache.berth.internal", "A"});
    if (gone == "no answer") break;
    std::this_thread::sleep_for(20ms);
  }
  CHECK(gone == "no answer");
  CHECK(dig("client", {"+short", "web.berth.internal"}) == att["web"].addresses[0].address.to_string());
  REQUIRE(core::write_file_atomic(back_json, saved));
  (void)dns->kill(SIGHUP);
  std::string served;
  for (int i = 0; i < 50; ++i) {
    served = dig("client2", {"+short", "cache.berth.internal"});
    if (!served.empty()) break;
    std::this_thread::sleep_for(20ms);
  }
  CHECK(served == att["cache"].addresses[0].address.to_string());
}

TEST_CASE("berth-dns waits for a listen address to appear instead of failing", "[dns-server]") {
  test::TempDir dir;
  fs::create_directories(dir.path / "records");
  REQUIRE(core::write_file_atomic(dir.path / "records" / "late.json",
                                  R"({"name":"late","listen":["10.99.0.1"],"subnets":["10.99.0.0/24"],
                                      "containers":[{"name":"svc","addresses":["10.99.0.5"]}]})"));
  auto log = dir.path / "berth-dns.log";
  auto dns = core::Child::spawn({.program = BERTH_DNS, .args = {"--records", (dir.path / "records").string(),
                                                                "--upstream", "192.0.2.1"}},
                                {.stderr_path = log});
  REQUIRE(dns);
  std::this_thread::sleep_for(300ms);
  CHECK(dns->running());
  CHECK_THAT(core::read_file(log).value(), Catch::Contains("waiting for address") && Catch::Contains("10.99.0.1"));
  auto links = Links::open().value();
  REQUIRE(links.add_address("lo", InterfaceAddress::parse("10.99.0.1/32").value()));
  std::string answer;
  auto until = std::chrono::steady_clock::now() + 3s;
  // The server retries the bind with backoff (at most 1 s apart); until then dig is refused.
  while (answer != "10.99.0.5\n" && std::chrono::steady_clock::now() < until) {
    auto r = core::run({.program = "dig", .args = {"+short", "+time=1", "+tries=1", "-b", "10.99.0.1", "@10.99.0.1",
                                                   "svc.berth.internal"}});
    if (r) answer = r->out;
    if (answer != "10.99.0.5\n") std::this_thread::sleep_for(50ms);
  }
  CHECK(answer == "10.99.0.5\n");
  CHECK_THAT(core::read_file(log).value(), Catch::Contains("\"msg\":\"listening\""));
}

namespace {
/// Sends one raw UDP packet to 10.88.0.1:53 from `ns`; returns the answer ("" if none within 1 s).
/// A UDP socket of the calling thread's namespace (receive timeout
/// `timeout_s`) and the front network's DNS server address.
std::pair<int, sockaddr_in> dns_client_socket(int timeout_s) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(53);
  ::inet_pton(AF_INET, "10.88.0.1", &to.sin_addr);
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return {fd, to};
}

std::string raw_query(const fs::path& ns, const std::vector<std::uint8_t>& packet) {
  return core::run_in_netns(ns, [&]() -> core::Result<std::string> {
           auto [fd, to] = dns_client_socket(1);
           ::sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
           char buf[4096];
           ssize_t n = ::recv(fd, buf, sizeof buf, 0);
           ::close(fd);
           return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
         })
      .value();
}
}  // namespace

TEST_CASE_METHOD(DnsWorld, "malformed queries get FORMERR from the running server, or nothing", "[dns-server]") {
  const fs::path client = World::container_path("client");
  struct Case {
    const char* what;
    std::vector<std::uint8_t> packet;
    bool answered;
  };
  std::vector<Case> cases = {
      {"compression loop", {0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1}, true},
      {"qdcount 50", {0x12, 0x35, 1, 0, 0, 50, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1}, true},
      {"qdcount 0", {0x12, 0x36, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true},
      {"truncated question", {0x12, 0x37, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'e'}, true},
      {"shorter than a header", {0x12, 0x38, 1}, false},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto reply = raw_query(client, c.packet);
    if (!c.answered) {
      CHECK(reply.empty());
      continue;
    }
    REQUIRE(reply.size() >= 12);
    CHECK(static_cast<unsigned char>(reply[0]) == c.packet[0]);
    CHECK(static_cast<unsigned char>(reply[1]) == c.packet[1]);
    CHECK((static_cast<unsigned char>(reply[2]) & 0x80) != 0);  // a response
    CHECK((static_cast<unsigned char>(reply[3]) & 0x0F) == 1);   // FORMERR
  }
  // And the server still answers.
  CHECK(dig("client", {"+short", "web.berth.internal"}) == att["web"].addresses[0].address.to_string());
}

TEST_CASE_METHOD(DnsWorld, "a burst of queries from one client gets one separate answer each", "[dns-server]") {
  // Sent in one sendmmsg, so the server reads many at once and sends the
  // answers of one size to this client as one GSO message through the bridge.
  auto query = [](std::uint16_t id, const std::string& name) {
    dns::Message m;
    m.id = id;
    m.rd = true;
    m.questions.push_back({name, dns::type::A});
    return dns::serialize(m);
  };
  std::vector<std::vector<std::uint8_t>> queries;
  std::set<std::uint16_t> sent;
  for (std::uint16_t id = 1000; id < 1040; ++id) {
    queries.push_back(query(id, id % 4 == 0 ? "db.berth.internal" : "web.berth.internal"));
    sent.insert(id);
  }
  auto answered = core::run_in_netns(World::container_path("client"), [&]() -> core::Result<std::set<std::uint16_t>> {
                    auto [fd, to] = dns_client_socket(2);
                    std::vector<iovec> iov(queries.size());
                    std::vector<mmsghdr> msgs(queries.size());
                    for (std::size_t i = 0; i < queries.size(); ++i) {
                      iov[i] = {queries[i].data(), queries[i].size()};
                      msgs[i] = {};
                      msgs[i].msg_hdr.msg_iov = &iov[i];
                      msgs[i].msg_hdr.msg_iovlen = 1;
                      msgs[i].msg_hdr.msg_name = &to;
                      msgs[i].msg_hdr.msg_namelen = sizeof to;
                    }
                    ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(msgs.size()), 0);
                    std::set<std::uint16_t> ids;
                    std::uint8_t buf[4096];
                    for (std::size_t i = 0; i < queries.size(); ++i) {
                      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
                      if (n <= 0) break;
                      // One whole answer per datagram: NOERROR with one address.
                      auto reply = dns::parse(std::span(buf, static_cast<std::size_t>(n)));
                      const auto* m = std::get_if<dns::Message>(&reply);
                      if (m && m->rcode == dns::Rcode::NoError && m->answers.size() == 1) ids.insert(m->id);
                    }
                    ::close(fd);
                    return ids;
                  }).value();
  CHECK(answered == sent);
}

TEST_CASE_METHOD(DnsWorld, "a forwarded answer too big for UDP comes whole over TCP", "[dns-server]") {
  // The upstream's UDP answer is truncated; berth asks it again over TCP.
  const std::string whole = dig("client", {"+tcp", "+short", "big.example.test", "TXT"});
  for (char c = 'a'; c < 'i'; ++c) CHECK_THAT(whole, Catch::Contains(std::string(250, c)));
  // A UDP client gets what fits, flagged as truncated, and no error.
  // The question keeps the client's spelling also in the answer cut down to fit.
  const std::string udp =
      dig("client", {"+notcp", "+ignore", "+noall", "+comments", "+question", "Big.Example.TEST", "TXT"});
  CHECK_THAT(udp, Catch::Contains("status: NOERROR"));
  CHECK_THAT(udp, Catch::Contains(" tc"));
  CHECK_THAT(udp, Catch::Contains(";Big.Example.TEST.\t"));
}
