// SPDX-License-Identifier: Apache-2.0
// bench/dns latency probe: sends A queries for the given names at a fixed
// rate over UDP and reports latency percentiles (dnsperf 2.10 reports only
// mean and standard deviation).
//   dns_latency [--poll] SERVER PORT SOURCE QPS SECONDS NAME...
// By default it waits as an ordinary client does: a sender thread sleeping
// until each query is due, a reader blocked in recv(). Each of those waits
// ends with a wake-up of the client's own CPU, which a virtual machine whose
// idle vCPUs halt pays through the host, and which is then counted as the
// server's latency. With --poll one thread never sleeps: it sends on time
// and reads with MSG_DONTWAIT, so what is measured is the network and the
// server (it takes the client's core whole, which the benchmark gives it).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {
using Clock = std::chrono::steady_clock;

std::vector<std::uint8_t> query(const std::string& name, std::uint16_t id) {
  std::vector<std::uint8_t> p = {static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id), 1, 0, 0, 1, 0, 0,
                                 0, 0, 0, 0};
  std::size_t start = 0;
  while (start <= name.size()) {
    auto dot = name.find('.', start);
    auto label = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    p.push_back(static_cast<std::uint8_t>(label.size()));
    p.insert(p.end(), label.begin(), label.end());
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  p.insert(p.end(), {0, 0, 1, 0, 1});
  return p;
}
}  // namespace

int main(int argc, char** argv) {
  const bool poll = argc > 1 && std::strcmp(argv[1], "--poll") == 0;
  if (poll) {
    --argc;
    ++argv;
  }
  if (argc < 7) {
    std::fprintf(stderr, "usage: dns_latency [--poll] SERVER PORT SOURCE QPS SECONDS NAME...\n");
    return 2;
  }
  const int qps = std::atoi(argv[4]);
  const int seconds = std::atoi(argv[5]);
  std::vector<std::string> names(argv + 6, argv + argc);
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in src{}, dst{};
  src.sin_family = dst.sin_family = AF_INET;
  ::inet_pton(AF_INET, argv[3], &src.sin_addr);
  ::inet_pton(AF_INET, argv[1], &dst.sin_addr);
  dst.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[2])));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    std::perror("dns_latency: socket");
    return 1;
  }
  // A server that was held up answers its backlog at once; the probe keeps
  // room for it, so that what is lost was lost by the server.
  const int room = 4 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  timeval tv{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // Written by the sender, read by the reader thread when waiting.
  std::vector<std::atomic<Clock::rep>> sent(65536);
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(qps) * seconds);
  const long total = static_cast<long>(qps) * seconds;
  const auto start = Clock::now();
  auto due = [&](long i) { return start + std::chrono::nanoseconds(static_cast<long long>(1e9 * static_cast<double>(i) / qps)); };
  auto send_query = [&](long i) {
    auto id = static_cast<std::uint16_t>(i);
    auto q = query(names[static_cast<std::size_t>(i) % names.size()], id);
    sent[id].store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    (void)::send(fd, q.data(), q.size(), 0);
  };
  auto record = [&](const std::uint8_t* buf, ssize_t n, Clock::time_point now) {
    if (n < 2) return;
    std::uint16_t id = static_cast<std::uint16_t>(buf[0] << 8 | buf[1]);
    const Clock::time_point then{Clock::duration{sent[id].load(std::memory_order_relaxed)}};
    latencies.push_back(std::chrono::duration<double, std::micro>(now - then).count());
  };
  if (poll) {
    std::array<std::uint8_t, 4096> buf;
    const auto last_wait = due(total) + std::chrono::milliseconds(300);
    for (long i = 0;;) {
      auto now = Clock::now();
      if (i < total && now >= due(i)) send_query(i++);
      ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n >= 0) record(buf.data(), n, Clock::now());
      if (i == total && (static_cast<long>(latencies.size()) == total || now > last_wait)) break;
    }
  } else {
    std::atomic<bool> sending{true};
    std::thread reader([&] {
      std::array<std::uint8_t, 4096> buf;
      while (sending || static_cast<long>(latencies.size()) < total) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 2) {
          if (!sending) break;
          continue;
        }
        record(buf.data(), n, Clock::now());
      }
    });
    for (long i = 0; i < total; ++i) {
      // Sleep, do not spin: the reader shares this core.
      std::this_thread::sleep_until(due(i));
      send_query(i);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sending = false;
    reader.join();
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(p * latencies.size()))];
  };
  std::printf("sent %ld answered %zu p50_us %.1f p99_us %.1f max_us %.1f\n", total, latencies.size(), pct(0.50),
              pct(0.99), latencies.empty() ? 0.0 : latencies.back());
  return 0;
}
