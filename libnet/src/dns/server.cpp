// SPDX-License-Identifier: Apache-2.0
#include "berth/net/dns/server.hpp"

#include "berth/core/log.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/net/dns/resolv_conf.hpp"
#include "dns/udp_serving_thread.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <netinet/in.h>
#include <random>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace berth::net::dns {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTcpIdle = std::chrono::seconds(10);

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

SockAddr to_sockaddr(const IpAddress& a, std::uint16_t port) {
  SockAddr s;
  if (a.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&s.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    auto b = a.to_v4().to_bytes();
    std::memcpy(&in->sin_addr, b.data(), 4);
    s.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    auto b = a.to_v6().to_bytes();
    std::memcpy(&in6->sin6_addr, b.data(), 16);
    s.len = sizeof(sockaddr_in6);
  }
  return s;
}

std::optional<IpAddress> from_sockaddr(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    boost::asio::ip::address_v4::bytes_type b{};
    std::memcpy(b.data(), &in->sin_addr, 4);
    return IpAddress(boost::asio::ip::address_v4(b));
  }
  if (ss.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    boost::asio::ip::address_v6::bytes_type b{};
    std::memcpy(b.data(), &in6->sin6_addr, 16);
    IpAddress a{boost::asio::ip::address_v6(b)};
    if (a.to_v6().is_v4_mapped()) return IpAddress(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()));
    return a;
  }
  return std::nullopt;
}

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

namespace {

/// Where a forwarded query's answer goes back to.
struct Pending {
  std::uint16_t client_id = 0;
  Question question;
  // The listen address a UDP client asked (unset for TCP). Not its socket's
  // descriptor: a reload may close that socket meanwhile, and its number may
  // come back as another address's socket.
  std::optional<IpAddress> udp_listen;
  SockAddr client;          // UDP client
  std::uint64_t tcp_conn = 0;
  std::size_t limit = 512;
  std::vector<std::uint8_t> packet;  // as sent upstream (our id)
  std::vector<std::size_t> tried;    // indexes into upstreams_
  Clock::time_point started, next_try;
  // Over TCP to the upstream whose UDP answer came back truncated.
  core::UniqueFd upstream_tcp;
  std::vector<std::uint8_t> tcp_out, tcp_in;  // length-prefixed query; what came back so far
  std::size_t tcp_sent = 0;
};

struct TcpConn {
  core::UniqueFd fd;
  std::vector<std::uint8_t> in, out;
  Clock::time_point last;
};

/// One listen address. Never moved (kept in a std::list): a move would close
/// its UDP socket before stopping the thread blocked on it.
struct Listener {
  explicit Listener(IpAddress a) : address(std::move(a)) {}
  Listener(Listener&&) = delete;
  Listener& operator=(Listener&&) = delete;

  IpAddress address;
  core::UniqueFd udp, tcp;
  Clock::time_point retry_at{};
  std::chrono::milliseconds backoff{10};
  bool announced_waiting = false;
  // Declared after `udp`: stopped and joined before the socket closes.
  std::unique_ptr<UdpServingThread> udp_thread;
};

class ServerImpl final : public Server {
public:
  ServerImpl(ServerOptions o, std::shared_ptr<const Zone> zone) : o_(std::move(o)), zone_(std::move(zone)) {}
  ~ServerImpl() override { stop(); }

  core::Result<void> start() {
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!epoll_ || !wake_) return core::errno_error(errno, "start DNS server");
    add_fd(wake_.get(), kWake);
    for (int family : {AF_INET, AF_INET6}) {
      core::UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!fd) continue;  // no IPv6 here: forward over IPv4 only
      (family == AF_INET ? up4_ : up6_) = std::move(fd);
      add_fd((family == AF_INET ? up4_ : up6_).get(), kUpstream);
    }
    reconcile_listeners();
    thread_ = std::thread([this] { loop(); });
    return {};
  }

  void update(std::shared_ptr<const Zone> zone) override {
    {
      std::lock_guard lock(mutex_);
      next_zone_ = std::move(zone);
    }
    std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }

  std::vector<IpAddress> listening() const override {
    std::lock_guard lock(mutex_);
    return bound_;
  }

  void stop() override {
    if (!thread_.joinable()) return;
    stopping_ = true;
    std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
    for (auto& l : listeners_)
      if (l.udp_thread) l.udp_thread->stop();
  }

private:
  // epoll tags: the high bits say what kind of descriptor it is.
  static constexpr std::uint64_t kWake = 1ull << 60, kTcpListen = 3ull << 60,
                                 kTcpConn = 4ull << 60, kUpstream = 5ull << 60, kUpstreamTcp = 6ull << 60,
                                 kKindMask = 7ull << 60;

  void add_fd(int fd, std::uint64_t tag, std::uint32_t events = EPOLLIN) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag | static_cast<std::uint32_t>(fd);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }

  /// Opens a socket for each listen address of the zone; an address not
  /// there yet (EADDRNOTAVAIL) is retried with backoff.
  void reconcile_listeners() {
    std::vector<IpAddress> wanted;
    for (const auto& n : zone_->networks())
      for (const auto& a : n.listen)
        if (std::find(wanted.begin(), wanted.end(), a) == wanted.end()) wanted.push_back(a);
    std::erase_if(listeners_, [&](const Listener& l) {
      return std::find(wanted.begin(), wanted.end(), l.address) == wanted.end();
    });
    for (const auto& a : wanted)
      if (std::none_of(listeners_.begin(), listeners_.end(), [&](const Listener& l) { return l.address == a; }))
        listeners_.emplace_back(a);
    const auto now = Clock::now();
    for (auto& l : listeners_) {
      if (l.udp || now < l.retry_at) continue;
      auto err = bind_listener(l);
      if (err == 0) {
        if (o_.on_listen) o_.on_listen(l.address, true);
        core::log::debug("dns listening", {{"address", l.address.to_string()}, {"port", o_.port}});
      } else {
        l.retry_at = now + l.backoff;
        l.backoff = std::min<std::chrono::milliseconds>(l.backoff * 2, std::chrono::seconds(1));
        if (!l.announced_waiting && o_.on_listen) o_.on_listen(l.address, false);
        l.announced_waiting = true;
      }
    }
    std::lock_guard lock(mutex_);
    bound_.clear();
    for (const auto& l : listeners_)
      if (l.udp) bound_.push_back(l.address);
  }

  int bind_listener(Listener& l) {
    const int family = l.address.is_v4() ? AF_INET : AF_INET6;
    SockAddr sa = to_sockaddr(l.address, o_.port);
    // Blocking: its own thread waits in recvmmsg (UdpServingThread).
    core::UniqueFd udp(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    core::UniqueFd tcp(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!udp || !tcp) return errno;
    int one = 1;
    ::setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) {
      ::setsockopt(udp.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      ::setsockopt(tcp.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    // Room for a burst: 1 MiB holds about a thousand queries, 50 ms at
    // 20 000 qps while this server's CPU is taken away (a virtual machine's
    // neighbours), where the default 208 KiB holds about 10 ms. A query lost
    // costs its client a retry after a second or more; one queued costs
    // milliseconds. FORCE passes net.core.rmem_max where we may (root).
    const int room = 1 << 20;
    if (::setsockopt(udp.get(), SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) != 0)
      ::setsockopt(udp.get(), SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
    if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&sa.ss), sa.len) != 0) return errno;
    if (::bind(tcp.get(), reinterpret_cast<sockaddr*>(&sa.ss), sa.len) != 0) return errno;
    if (::listen(tcp.get(), 128) != 0) return errno;
    add_fd(tcp.get(), kTcpListen);
    const int fd = udp.get();
    l.udp = std::move(udp);
    l.tcp = std::move(tcp);
    l.udp_thread = std::make_unique<UdpServingThread>(
        fd, [this, address = l.address, zone = std::shared_ptr<const Zone>(), generation = ~0ull](
                std::span<const std::uint8_t> query, const sockaddr_storage& from, socklen_t from_len,
                std::vector<std::uint8_t>& reply) mutable {
          // The zone is swapped by the loop thread; look again only when it has changed.
          if (const auto g = zone_generation_.load(std::memory_order_acquire); g != generation) {
            std::lock_guard lock(mutex_);
            zone = zone_;
            generation = g;
          }
          auto client = from_sockaddr(from);
          if (!client) return;
          handle(*zone, query, *client, 0, reply, [&](Pending&& p) {
            p.udp_listen = address;
            p.client = SockAddr{from, from_len};
            hand_to_loop(std::move(p));
          });
        },
        o_.busy_poll);
    return 0;
  }

  void loop() {
    std::array<epoll_event, 64> events{};
    while (!stopping_) {
      int timeout = next_timeout_ms();
      int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout);
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < std::max(n, 0); ++i) {
        const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
        const int fd = static_cast<int>(tag & 0xffffffffu);
        switch (tag & kKindMask) {
          case kWake: on_wake(); break;
          case kTcpListen: on_accept(fd); break;
          case kTcpConn: on_tcp(tag & ~kKindMask, events[static_cast<std::size_t>(i)].events); break;
          case kUpstream: on_upstream(fd); break;
          case kUpstreamTcp: on_upstream_tcp(tag, events[static_cast<std::size_t>(i)].events); break;
        }
      }
      on_timers();
    }
  }

  int next_timeout_ms() const {
    auto next = Clock::now() + std::chrono::seconds(1);
    for (const auto& l : listeners_)
      if (!l.udp) next = std::min(next, l.retry_at);
    for (const auto& [id, p] : pending_) next = std::min(next, p.next_try);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count();
    return static_cast<int>(std::max<std::int64_t>(ms, 0));
  }

  void on_wake() {
    std::uint64_t v;
    (void)!::read(wake_.get(), &v, sizeof v);
    std::shared_ptr<const Zone> z;
    {
      std::lock_guard lock(mutex_);
      z = std::move(next_zone_);
    }
    if (z) {
      {
        std::lock_guard lock(mutex_);
        zone_ = std::move(z);
      }
      zone_generation_.fetch_add(1, std::memory_order_release);
      reconcile_listeners();
    }
    std::vector<Pending> forwards;
    {
      std::lock_guard lock(mutex_);
      forwards.swap(to_forward_);
    }
    for (auto& p : forwards) start_forward(std::move(p));
  }

  /// A UDP serving thread's query to forward: the loop thread owns forwarding.
  void hand_to_loop(Pending&& p) {
    {
      std::lock_guard lock(mutex_);
      to_forward_.push_back(std::move(p));
    }
    std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }

  /// Answers one packet into `reply`; left empty means "nothing to send now".
  void handle(const Zone& zone, std::span<const std::uint8_t> packet, const IpAddress& client, std::size_t limit,
              std::vector<std::uint8_t>& reply, const std::function<void(Pending&&)>& forward) const {
    reply.clear();
    if (answer_address_query(zone, packet, client, limit, reply)) return;
    auto parsed = parse(packet);
    if (std::holds_alternative<ParseError>(parsed)) {
      auto h = peek_header(packet);
      if (!h || (h->flags & 0x8000)) return;  // not even a header, or a response: drop
      reply = formerr(*h);
      return;
    }
    Message& q = std::get<Message>(parsed);
    if (q.qr) return;
    auto r = answer(zone, q, client);
    const std::size_t reply_limit = limit == 0 ? udp_limit(q) : limit;
    if (r) {
      reply = serialize(*r, reply_limit);
      echo_question_case(packet, reply);
      return;
    }
    Pending p;
    p.client_id = q.id;
    p.question = q.questions.front();
    p.limit = reply_limit;
    p.packet.assign(packet.begin(), packet.end());
    forward(std::move(p));
  }

  void on_accept(int fd) {
    for (;;) {
      int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) return;
      const std::uint64_t id = ++next_conn_;
      TcpConn conn{core::UniqueFd(c), {}, {}, Clock::now()};
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = kTcpConn | id;
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c, &ev);
      conns_.emplace(id, std::move(conn));
    }
  }

  void on_tcp(std::uint64_t id, std::uint32_t events) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    TcpConn& c = it->second;
    c.last = Clock::now();
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
      std::array<std::uint8_t, 4096> buf;
      for (;;) {
        ssize_t r = ::read(c.fd.get(), buf.data(), buf.size());
        if (r > 0) {
          c.in.insert(c.in.end(), buf.begin(), buf.begin() + r);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          flush(c);
          conns_.erase(it);
          return;
        }
        break;
      }
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      ::getpeername(c.fd.get(), reinterpret_cast<sockaddr*>(&peer), &len);
      auto client = from_sockaddr(peer);
      while (c.in.size() >= 2 && client) {
        std::size_t msg_len = static_cast<std::size_t>(c.in[0] << 8 | c.in[1]);
        if (c.in.size() < 2 + msg_len) break;
        std::vector<std::uint8_t> msg(c.in.begin() + 2, c.in.begin() + 2 + static_cast<std::ptrdiff_t>(msg_len));
        c.in.erase(c.in.begin(), c.in.begin() + 2 + static_cast<std::ptrdiff_t>(msg_len));
        std::vector<std::uint8_t> reply;
        handle(*zone_, msg, *client, 65535, reply, [&](Pending&& p) {
          p.tcp_conn = id;
          start_forward(std::move(p));
        });
        queue_tcp(c, reply);
      }
    }
    flush(c);
  }

  void queue_tcp(TcpConn& c, const std::vector<std::uint8_t>& reply) {
    if (reply.empty()) return;
    c.out.push_back(static_cast<std::uint8_t>(reply.size() >> 8));
    c.out.push_back(static_cast<std::uint8_t>(reply.size()));
    c.out.insert(c.out.end(), reply.begin(), reply.end());
  }

  void flush(TcpConn& c) {
    while (!c.out.empty()) {
      ssize_t w = ::write(c.fd.get(), c.out.data(), c.out.size());
      if (w <= 0) break;
      c.out.erase(c.out.begin(), c.out.begin() + w);
    }
  }

  // Forwarding ---------------------------------------------------------------

  const std::vector<IpAddress>& upstreams() {
    if (o_.upstreams) return *o_.upstreams;
    const auto now = Clock::now();
    if (now - upstreams_checked_ < std::chrono::seconds(1) && !upstream_list_.empty()) return upstream_list_;
    upstreams_checked_ = now;
    struct stat st{};
    std::int64_t stamp = 0;
    if (::stat(o_.resolv_conf.c_str(), &st) == 0) stamp = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
    if (stamp == upstreams_stamp_ && !upstream_list_.empty()) return upstream_list_;
    upstreams_stamp_ = stamp;
    std::vector<IpAddress> self;
    for (const auto& n : zone_->networks()) self.insert(self.end(), n.listen.begin(), n.listen.end());
    auto list = host_upstreams(o_.resolv_conf, o_.resolved_upstream, self);
    upstream_list_ = list ? *list : std::vector<IpAddress>{};
    return upstream_list_;
  }

  /// The next upstream to try for `p`: healthy ones first, in order.
  std::optional<std::size_t> next_upstream(const Pending& p) {
    const auto& list = upstreams();
    const auto now = Clock::now();
    std::optional<std::size_t> fallback;
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (std::find(p.tried.begin(), p.tried.end(), i) != p.tried.end()) continue;
      auto down = down_until_.find(list[i]);
      if (down == down_until_.end() || down->second < now) return i;
      if (!fallback) fallback = i;
    }
    return fallback;
  }

  void start_forward(Pending&& p) {
    std::uint16_t id;
    do id = static_cast<std::uint16_t>(rng_()); while (pending_.count(id));
    p.packet[0] = static_cast<std::uint8_t>(id >> 8);
    p.packet[1] = static_cast<std::uint8_t>(id);
    p.started = Clock::now();
    auto [it, inserted] = pending_.emplace(id, std::move(p));
    if (!send_next(it->second)) fail(id, Rcode::ServFail);
  }

  bool send_next(Pending& p) {
    auto i = next_upstream(p);
    if (!i) return false;
    const IpAddress& up = upstreams()[*i];
    p.tried.push_back(*i);
    p.next_try = Clock::now() + o_.fallback_after;
    const int fd = up.is_v4() ? up4_.get() : up6_.get();
    if (fd < 0) return send_next(p);
    SockAddr sa = to_sockaddr(up, 53);
    ::sendto(fd, p.packet.data(), p.packet.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa.ss), sa.len);
    return true;
  }

  void deliver(Pending& p, std::vector<std::uint8_t> reply) {
    reply[0] = static_cast<std::uint8_t>(p.client_id >> 8);
    reply[1] = static_cast<std::uint8_t>(p.client_id);
    if (reply.size() > p.limit) {
      // Too big for this client: parse and re-serialize within its limit (sets TC).
      auto parsed = parse(reply);
      if (auto* m = std::get_if<Message>(&parsed)) reply = serialize(*m, p.limit);
      else reply.resize(12);
    }
    // Whatever wrote it (the upstream, a re-serialisation that lower-cased
    // it, a SERVFAIL of ours), the question goes back as the client spelled it.
    echo_question_case(p.packet, reply);
    if (p.udp_listen) {
      // The answer leaves from the address the client asked, through the
      // socket that serves it now; none when a reload took the address away.
      auto l = std::find_if(listeners_.begin(), listeners_.end(),
                            [&](const Listener& x) { return x.udp && x.address == *p.udp_listen; });
      if (l == listeners_.end()) return;
      ::sendto(l->udp.get(), reply.data(), reply.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&p.client.ss),
               p.client.len);
    } else if (auto c = conns_.find(p.tcp_conn); c != conns_.end()) {
      queue_tcp(c->second, reply);
      flush(c->second);
    }
  }

  void fail(std::uint16_t id, Rcode rcode) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    Message r;
    r.id = it->second.client_id;
    r.qr = true;
    r.rd = true;
    r.ra = true;
    r.rcode = rcode;
    r.questions.push_back(it->second.question);
    deliver(it->second, serialize(r, it->second.limit));
    pending_.erase(it);
  }

  void on_upstream(int fd) {
    std::vector<std::uint8_t>& buf = upstream_buf_;
    for (;;) {
      sockaddr_storage from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
      if (n < 0) return;
      auto h = peek_header(std::span(buf.data(), static_cast<std::size_t>(n)));
      if (!h || !(h->flags & 0x8000)) continue;
      auto it = pending_.find(h->id);
      if (it == pending_.end()) continue;
      Pending& p = it->second;
      // Accept answers only from an upstream we asked, to the question we asked.
      auto source = from_sockaddr(from);
      const auto& list = upstreams();
      bool asked = source && std::any_of(p.tried.begin(), p.tried.end(), [&](std::size_t i) {
                     return i < list.size() && list[i] == *source;
                   });
      if (!asked) continue;
      auto parsed = parse(std::span(buf.data(), static_cast<std::size_t>(n)));
      auto* m = std::get_if<Message>(&parsed);
      if (!m || m->questions.size() != 1 || !(m->questions.front() == p.question)) continue;
      down_until_.erase(*source);
      // Truncated: ask the same upstream again over TCP for the whole
      // answer (a TCP client must get it whole; a UDP client gets as much
      // as fits, with TC, and can come back over TCP).
      if (m->tc && !p.upstream_tcp && start_upstream_tcp(h->id, p, *source)) continue;
      deliver(p, std::vector<std::uint8_t>(buf.begin(), buf.begin() + n));
      pending_.erase(it);
    }
  }

  bool start_upstream_tcp(std::uint16_t id, Pending& p, const IpAddress& upstream) {
    SockAddr sa = to_sockaddr(upstream, 53);
    core::UniqueFd s(::socket(sa.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s) return false;
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa.ss), sa.len) != 0 && errno != EINPROGRESS) return false;
    p.tcp_out = {static_cast<std::uint8_t>(p.packet.size() >> 8), static_cast<std::uint8_t>(p.packet.size())};
    p.tcp_out.insert(p.tcp_out.end(), p.packet.begin(), p.packet.end());
    p.tcp_sent = 0;
    p.tcp_in.clear();
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
    // The descriptor in the tag too: an event for a closed connection whose
    // query id was reused meanwhile is recognised and ignored.
    ev.data.u64 = kUpstreamTcp | (static_cast<std::uint64_t>(id) << 32) | static_cast<std::uint32_t>(s.get());
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, s.get(), &ev) != 0) return false;
    p.upstream_tcp = std::move(s);
    p.next_try = p.started + o_.give_up_after;  // no more UDP tries; the timers give up on it then
    return true;
  }

  void on_upstream_tcp(std::uint64_t tag, std::uint32_t events) {
    const auto id = static_cast<std::uint16_t>((tag >> 32) & 0xffff);
    const int fd = static_cast<int>(tag & 0xffffffffu);
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.upstream_tcp.get() != fd) return;
    Pending& p = it->second;
    if (events & EPOLLERR) return fail(id, Rcode::ServFail);
    while (p.tcp_sent < p.tcp_out.size()) {
      ssize_t n = ::send(fd, p.tcp_out.data() + p.tcp_sent, p.tcp_out.size() - p.tcp_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      if (n < 0) return fail(id, Rcode::ServFail);
      p.tcp_sent += static_cast<std::size_t>(n);
      if (p.tcp_sent == p.tcp_out.size()) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = tag;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev);
      }
    }
    bool closed = false;
    for (;;) {
      std::array<std::uint8_t, 4096> chunk;
      ssize_t n = ::read(fd, chunk.data(), chunk.size());
      if (n > 0) {
        p.tcp_in.insert(p.tcp_in.end(), chunk.begin(), chunk.begin() + n);
        continue;
      }
      closed = n == 0 || (errno != EAGAIN && errno != EINTR);
      break;
    }
    if (p.tcp_in.size() >= 2) {
      const std::size_t len = static_cast<std::size_t>(p.tcp_in[0]) << 8 | p.tcp_in[1];
      if (p.tcp_in.size() >= 2 + len) {
        std::vector<std::uint8_t> reply(p.tcp_in.begin() + 2, p.tcp_in.begin() + 2 + static_cast<long>(len));
        auto parsed = parse(reply);
        auto* m = std::get_if<Message>(&parsed);
        if (!m || !m->qr || m->id != id || m->questions.size() != 1 || !(m->questions.front() == p.question))
          return fail(id, Rcode::ServFail);
        deliver(p, std::move(reply));
        pending_.erase(it);
        return;
      }
    }
    if (closed) fail(id, Rcode::ServFail);
  }

  void on_timers() {
    const auto now = Clock::now();
    std::vector<std::uint16_t> give_up;
    for (auto& [id, p] : pending_) {
      if (now < p.next_try) continue;
      // The last upstream asked was too slow: try it last for a while.
      if (!p.tried.empty() && p.tried.back() < upstreams().size())
        down_until_[upstreams()[p.tried.back()]] = now + o_.remember_failure;
      if (now - p.started >= o_.give_up_after || !send_next(p)) {
        if (now - p.started >= o_.give_up_after) give_up.push_back(id);
        else p.next_try = p.started + o_.give_up_after;
      }
    }
    for (auto id : give_up) fail(id, Rcode::ServFail);
    for (auto it = conns_.begin(); it != conns_.end();)
      it = now - it->second.last > kTcpIdle ? conns_.erase(it) : std::next(it);
    bool waiting = std::any_of(listeners_.begin(), listeners_.end(), [&](const Listener& l) {
      return !l.udp && l.retry_at <= now;
    });
    if (waiting) reconcile_listeners();
  }

  ServerOptions o_;
  std::shared_ptr<const Zone> zone_;  // written by the loop thread under mutex_
  std::atomic<std::uint64_t> zone_generation_{0};
  mutable std::mutex mutex_;
  std::shared_ptr<const Zone> next_zone_;
  std::vector<Pending> to_forward_;
  std::vector<IpAddress> bound_;
  core::UniqueFd epoll_, wake_, up4_, up6_;
  std::list<Listener> listeners_;
  std::map<std::uint64_t, TcpConn> conns_;
  std::uint64_t next_conn_ = 0;
  std::map<std::uint16_t, Pending> pending_;
  std::map<IpAddress, Clock::time_point> down_until_;
  std::vector<IpAddress> upstream_list_;
  Clock::time_point upstreams_checked_{};
  std::int64_t upstreams_stamp_ = -1;
  std::mt19937 rng_{std::random_device{}()};
  std::vector<std::uint8_t> upstream_buf_ = std::vector<std::uint8_t>(65535);
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace

core::Result<std::unique_ptr<Server>> Server::start(ServerOptions options, std::shared_ptr<const Zone> zone) {
  auto s = std::make_unique<ServerImpl>(std::move(options), std::move(zone));
  if (auto r = s->start(); !r) return r.error();
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace berth::net::dns
