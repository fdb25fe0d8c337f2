// SPDX-License-Identifier: Apache-2.0
// bench/dns latency probe: sends A queries for the given names at a fixed
// rate over UDP and reports latency percentiles (dnsperf 2.10 reports only
// mean and standard deviation).
//   dns_latency SERVER PORT SOURCE QPS SECONDS NAME...
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
  if (argc < 7) {
    std::fprintf(stderr, "usage: dns_latency SERVER PORT SOURCE QPS SECONDS NAME...\n");
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
  timeval tv{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::vector<Clock::time_point> sent(65536);
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(qps) * seconds);
  std::atomic<bool> sending{true};
  std::atomic<long> received{0};
  std::thread reader([&] {
    std::array<std::uint8_t, 4096> buf;
    while (sending || received < static_cast<long>(latencies.capacity())) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n < 2) {
        if (!sending) break;
        continue;
      }
      auto now = Clock::now();
      std::uint16_t id = static_cast<std::uint16_t>(buf[0] << 8 | buf[1]);
      latencies.push_back(std::chrono::duration<double, std::micro>(now - sent[id]).count());
      ++received;
    }
  });
  const long total = static_cast<long>(qps) * seconds;
  const auto start = Clock::now();
  for (long i = 0; i < total; ++i) {
    auto due = start + std::chrono::nanoseconds(static_cast<long long>(1e9 * static_cast<double>(i) / qps));
    // Sleep, do not spin: the reader shares this core.
    std::this_thread::sleep_until(due);
    auto id = static_cast<std::uint16_t>(i);
    auto q = query(names[static_cast<std::size_t>(i) % names.size()], id);
    sent[id] = Clock::now();
    (void)::send(fd, q.data(), q.size(), 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sending = false;
  reader.join();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(p * latencies.size()))];
  };
  std::printf("sent %ld answered %zu p50_us %.1f p99_us %.1f max_us %.1f\n", total, latencies.size(), pct(0.50),
              pct(0.99), latencies.empty() ? 0.0 : latencies.back());
  return 0;
}
