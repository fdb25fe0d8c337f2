// SPDX-License-Identifier: Apache-2.0
// The embedded DNS server: one loop thread (epoll) owns the listen sockets'
// TCP side, the TCP clients (listeners.cpp), forwarding (forwarder.cpp) and
// zone swaps; each UDP listen socket has a serving thread of its own
// (udp_serving_thread.cpp). Answers come from answering.cpp.
#include "berth/net/dns/server.hpp"

#include "berth/core/log.hpp"
#include "berth/core/unique_fd.hpp"
#include "dns/answering.hpp"
#include "dns/forwarder.hpp"
#include "dns/listeners.hpp"
#include "dns/loop_tags.hpp"
#include "berth/net/sockaddr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace berth::net::dns {
namespace {

class ServerImpl final : public Server {
public:
  ServerImpl(ServerOptions o, std::shared_ptr<const Zone> zone) : o_(std::move(o)), zone_(std::move(zone)) {}
  ~ServerImpl() override { stop(); }

  core::Result<void> start() {
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!epoll_ || !wake_) return core::errno_error(errno, "start DNS server");
    loop::add_fd(epoll_.get(), wake_.get(), loop::kWake);
    forwarder_.emplace(o_, epoll_.get(), [this](const ReplyTo& to, const std::vector<std::uint8_t>& answer) {
      send_back(to, answer);
    });
    forwarder_->open();
    tcp_.emplace(epoll_.get(), [this](std::uint64_t id, std::span<const std::uint8_t> query, const IpAddress& client,
                                      std::vector<std::uint8_t>& reply) {
      if (auto unanswered = answer_packet(*zone_, query, client, 65535, reply))
        forwarder_->forward(std::move(*unanswered), ReplyTo{.tcp_conn = id});
    });
    reconcile_listeners();
    thread_ = std::thread([this] { loop(); });
    return {};
  }

  void update(std::shared_ptr<const Zone> zone) override {
    {
      std::lock_guard lock(mutex_);
      next_zone_ = std::move(zone);
    }
    wake();
  }

  std::vector<IpAddress> listening() const override {
    std::lock_guard lock(mutex_);
    return bound_;
  }

  void stop() override {
    if (!thread_.joinable()) return;
    stopping_ = true;
    wake();
    thread_.join();
    for (auto& l : listeners_)
      if (l.udp_thread) l.udp_thread->stop();
  }

private:
  void wake() {
    std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }

  /// Opens a socket for each listen address of the zone; an address not
  /// there yet (EADDRNOTAVAIL) is retried with backoff.
  void reconcile_listeners() {
    std::vector<IpAddress> wanted;
    for (const auto& n : zone_->networks())
      for (const auto& a : n.listen)
        if (std::find(wanted.begin(), wanted.end(), a) == wanted.end()) wanted.push_back(a);
    forwarder_->set_own_addresses(wanted);
    std::erase_if(listeners_, [&](const Listener& l) {
      return std::find(wanted.begin(), wanted.end(), l.address) == wanted.end();
    });
    for (const auto& a : wanted)
      if (std::none_of(listeners_.begin(), listeners_.end(), [&](const Listener& l) { return l.address == a; }))
        listeners_.emplace_back(a);
    const auto now = Clock::now();
    for (auto& l : listeners_) {
      if (l.udp || now < l.retry_at) continue;
      if (bind_listener(l, o_.port) == 0) {
        serve(l);
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

  /// Serves a bound listener: TCP through the loop, UDP on a thread of its own.
  void serve(Listener& l) {
    loop::add_fd(epoll_.get(), l.tcp.get(), loop::kTcpListen);
    l.udp_thread = std::make_unique<UdpServingThread>(
        l.udp.get(),
        [this, address = l.address, zone = std::shared_ptr<const Zone>(), generation = ~0ull](
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
          if (auto unanswered = answer_packet(*zone, query, *client, 0, reply))
            hand_to_loop(std::move(*unanswered), ReplyTo{address, SockAddr{from, from_len}, 0});
        },
        o_.busy_poll,
        [this, address = l.address](int err) {
          if (o_.on_error)
            o_.on_error(address, fmt::format("UDP receive failed ({}); this listen address is no longer served",
                                             std::strerror(err)));
        });
  }

  void loop() {
    std::array<epoll_event, 64> events{};
    while (!stopping_) {
      int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), next_timeout_ms());
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < std::max(n, 0); ++i) {
        const auto& ev = events[static_cast<std::size_t>(i)];
        const std::uint64_t tag = ev.data.u64;
        const int fd = static_cast<int>(tag & 0xffffffffu);
        switch (tag & loop::kKindMask) {
          case loop::kWake: on_wake(); break;
          case loop::kTcpListen: tcp_->accept(fd); break;
          case loop::kTcpConn: tcp_->on_event(tag & ~loop::kKindMask, ev.events); break;
          case loop::kUpstream: forwarder_->on_upstream(fd); break;
          case loop::kUpstreamTcp: forwarder_->on_upstream_tcp(tag, ev.events); break;
        }
      }
      on_timers();
    }
  }

  int next_timeout_ms() const {
    auto next = Clock::now() + std::chrono::seconds(1);
    for (const auto& l : listeners_)
      if (!l.udp) next = std::min(next, l.retry_at);
    next = forwarder_->next_deadline(next);
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
    std::vector<std::pair<Unanswered, ReplyTo>> forwards;
    {
      std::lock_guard lock(mutex_);
      forwards.swap(to_forward_);
    }
    for (auto& [query, to] : forwards) forwarder_->forward(std::move(query), std::move(to));
  }

  /// A UDP serving thread's query to forward: the loop thread owns forwarding.
  void hand_to_loop(Unanswered query, ReplyTo to) {
    {
      std::lock_guard lock(mutex_);
      to_forward_.emplace_back(std::move(query), std::move(to));
    }
    wake();
  }

  /// A forwarded query's answer, back to its client.
  void send_back(const ReplyTo& to, const std::vector<std::uint8_t>& answer) {
    if (!to.udp_listen) return tcp_->send(to.tcp_conn, answer);
    // The answer leaves from the address the client asked, through the
    // socket that serves it now; none when a reload took the address away.
    auto l = std::find_if(listeners_.begin(), listeners_.end(),
                          [&](const Listener& x) { return x.udp && x.address == *to.udp_listen; });
    if (l == listeners_.end()) return;
    ::sendto(l->udp.get(), answer.data(), answer.size(), MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&to.client.ss), to.client.len);
  }

  void on_timers() {
    const auto now = Clock::now();
    forwarder_->on_timers(now);
    tcp_->expire(now);
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
  std::vector<std::pair<Unanswered, ReplyTo>> to_forward_;
  std::vector<IpAddress> bound_;
  core::UniqueFd epoll_, wake_;
  std::optional<Forwarder> forwarder_;  // made by start(), with the loop's epoll
  std::optional<TcpClients> tcp_;
  std::list<Listener> listeners_;
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
