// SPDX-License-Identifier: Apache-2.0
// bench/dns floor: the least a UDP DNS server can do on this machine. It
// answers each query with the query itself, the QR bit set (a valid empty
// NOERROR answer to dnsperf and the latency probe), from one thread blocked
// in recvmmsg with batched sendmmsg, as berth-dns's UDP path does, but with
// no lookup at all. Run where the servers run, its latency is what the
// machine alone costs (the network, a halted vCPU's wake-up, a host that
// holds the guest up), which no server can go below; its CPU per query is
// about the kernel's share of a server's. (It sends each answer as a datagram
// of its own; berth-dns sends equal-sized answers to one client as one UDP GSO
// message, and so can spend less CPU per query than this floor.)
//   dns_reflector ADDRESS PORT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: dns_reflector ADDRESS PORT\n");
    return 2;
  }
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(std::atoi(argv[2])));
  if (fd < 0 || ::inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("dns_reflector");
    return 1;
  }
  // The same receive buffer as berth-dns's listen sockets, so that both
  // queue alike through a stall.
  const int room = 1 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
  constexpr unsigned batch = 64;
  static std::array<std::array<std::uint8_t, 512>, batch> buffers;
  std::array<sockaddr_in, batch> peers{};
  std::array<iovec, batch> iov{};
  std::array<mmsghdr, batch> msgs{};
  for (;;) {
    for (unsigned i = 0; i < batch; ++i) {
      iov[i] = {buffers[i].data(), buffers[i].size()};
      msgs[i].msg_hdr = {};
      msgs[i].msg_hdr.msg_name = &peers[i];
      msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = ::recvmmsg(fd, msgs.data(), batch, MSG_WAITFORONE, nullptr);
    if (n <= 0) continue;
    unsigned out = 0;
    for (int i = 0; i < n; ++i) {
      if (msgs[i].msg_len < 12) continue;
      buffers[i][2] |= 0x80;  // QR: this is an answer
      iov[i].iov_len = msgs[i].msg_len;
      if (out != static_cast<unsigned>(i)) {
        msgs[out] = msgs[i];
      }
      ++out;
    }
    for (unsigned sent = 0; sent < out;) {
      int r = ::sendmmsg(fd, msgs.data() + sent, out - sent, 0);
      if (r <= 0) break;
      sent += static_cast<unsigned>(r);
    }
  }
}
