// SPDX-License-Identifier: Apache-2.0
// The DNS server with busy polling (ServerOptions::busy_poll): it answers
// every query whether it is spinning or asleep, it spins after a query (CPU
// time spent), stops spinning when queries stop coming, and stop() ends a
// spin at once. On this namespace's loopback.
#include "berth/core/process.hpp"
#include "berth/net/dns/message.hpp"

#include "berth_catch.hpp"
#include "dns_loopback.hpp"

#include <time.h>

#include <variant>

using namespace berth;
using namespace berth::test;

namespace {

/// Asks for web's A record as query ID and checks the answer.
void ask_web(int client, std::uint16_t id) {
  dns::Message q;
  q.id = id;
  q.rd = true;
  q.questions.push_back({"web", dns::type::A, dns::kClassIn});
  send_to(client, dns::serialize(q), address_port("127.0.0.10", 53));
  auto got = receive(client);
  REQUIRE(got);
  auto answer = dns::parse(got->bytes);
  REQUIRE(std::holds_alternative<dns::Message>(answer));
  const auto& m = std::get<dns::Message>(answer);
  CHECK(m.id == id);
  REQUIRE(m.answers.size() == 1);
  CHECK(std::get<IpAddress>(m.answers[0].data) == parse_address("127.1.0.2").value());
}

std::chrono::nanoseconds process_cpu_time() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

/// The CPU time this process (the server's threads; the test's own sleeps)
/// spends over `wall`.
std::chrono::milliseconds cpu_over(std::chrono::milliseconds wall) {
  const auto before = process_cpu_time();
  std::this_thread::sleep_for(wall);
  return std::chrono::duration_cast<std::chrono::milliseconds>(process_cpu_time() - before);
}

}  // namespace

TEST_CASE("a busy-polling server answers every query, sleeps when they stop, and stops at once",
          "[dns][busy-poll]") {
  REQUIRE(core::run_checked({.program = "ip", .args = {"link", "set", "lo", "up"}}));
  const auto client_fd = bound("127.0.0.1", 0, 2000ms);
  const int client = client_fd.get();
  dns::ServerOptions options;
  options.upstreams = std::vector<IpAddress>{};

  SECTION("queries close together and far apart are all answered; it spins after a query, then sleeps") {
    options.busy_poll = 300ms;
    auto server = dns::Server::start(options, zone_listening_on("127.0.0.10")).value();
    wait_listening(*server, "127.0.0.10");
    for (std::uint16_t i = 1; i <= 200; ++i) {
      // Now and then a pause longer than the spin: this query must wake a
      // thread that went back to sleep.
      if (i % 50 == 0) std::this_thread::sleep_for(350ms);
      ask_web(client, i);
    }
    // Right after a query the thread keeps receiving (a sleeping one spends
    // next to nothing; the bound leaves room for a busy CI machine).
    const auto spinning = cpu_over(200ms);
    INFO("CPU time in the 200 ms after a query: " << spinning.count() << " ms");
    CHECK(spinning > 50ms);
    std::this_thread::sleep_for(200ms);  // the spin after the last query is over
    const auto idle = cpu_over(400ms);
    INFO("CPU time in 400 ms without queries: " << idle.count() << " ms");
    CHECK(idle < 100ms);
    server->stop();
  }
  SECTION("stop() ends a spin of ten seconds at once") {
    options.busy_poll = 10s;
    auto server = dns::Server::start(options, zone_listening_on("127.0.0.10")).value();
    wait_listening(*server, "127.0.0.10");
    ask_web(client, 7);  // the thread now spins for ten seconds
    const auto spinning = cpu_over(200ms);
    INFO("CPU time in the 200 ms after a query: " << spinning.count() << " ms");
    CHECK(spinning > 50ms);
    const auto start = std::chrono::steady_clock::now();
    server->stop();
    CHECK(std::chrono::steady_clock::now() - start < 2s);
  }
}
