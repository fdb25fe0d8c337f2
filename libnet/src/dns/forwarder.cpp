// SPDX-License-Identifier: Apache-2.0
#include "dns/forwarder.hpp"

#include "berth/net/dns/resolv_conf.hpp"
#include "dns/loop_tags.hpp"

#include <algorithm>
#include <array>
#include <cerrno>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace berth::net::dns {

Forwarder::Forwarder(const ServerOptions& options, int epoll, Deliver deliver)
    : o_(options), epoll_(epoll), deliver_(std::move(deliver)) {}

void Forwarder::open() {
  for (int family : {AF_INET, AF_INET6}) {
    core::UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) continue;  // no IPv6 here: forward over IPv4 only
    loop::add_fd(epoll_, fd.get(), loop::kUpstream);
    (family == AF_INET ? up4_ : up6_) = std::move(fd);
  }
}

void Forwarder::set_own_addresses(std::vector<IpAddress> addresses) {
  if (addresses == own_) return;
  own_ = std::move(addresses);
  upstreams_stamp_ = -1;  // read resolv.conf again without them
}

const std::vector<IpAddress>& Forwarder::upstreams() {
  if (o_.upstreams) return *o_.upstreams;
  const auto now = Clock::now();
  if (now - upstreams_checked_ < std::chrono::seconds(1) && !upstream_list_.empty()) return upstream_list_;
  upstreams_checked_ = now;
  struct stat st {};
  std::int64_t stamp = 0;
  if (::stat(o_.resolv_conf.c_str(), &st) == 0) stamp = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
  if (stamp == upstreams_stamp_ && !upstream_list_.empty()) return upstream_list_;
  upstreams_stamp_ = stamp;
  auto list = host_upstreams(o_.resolv_conf, o_.resolved_upstream, own_);
  upstream_list_ = list ? *list : std::vector<IpAddress>{};
  return upstream_list_;
}

std::optional<std::size_t> Forwarder::next_upstream(const Pending& p) {
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

void Forwarder::forward(Unanswered query, ReplyTo to) {
  std::uint16_t id;
  do id = static_cast<std::uint16_t>(rng_()); while (pending_.count(id));
  query.packet[0] = static_cast<std::uint8_t>(id >> 8);
  query.packet[1] = static_cast<std::uint8_t>(id);
  Pending p{std::move(query), std::move(to)};
  p.started = Clock::now();
  auto [it, inserted] = pending_.emplace(id, std::move(p));
  if (!send_next(it->second)) fail(id, Rcode::ServFail);
}

bool Forwarder::send_next(Pending& p) {
  auto i = next_upstream(p);
  if (!i) return false;
  const IpAddress& up = upstreams()[*i];
  p.tried.push_back(*i);
  p.next_try = Clock::now() + o_.fallback_after;
  const int fd = up.is_v4() ? up4_.get() : up6_.get();
  if (fd < 0) return send_next(p);
  SockAddr sa = to_sockaddr(up, 53);
  ::sendto(fd, p.query.packet.data(), p.query.packet.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa.ss),
           sa.len);
  return true;
}

void Forwarder::deliver(Pending& p, std::vector<std::uint8_t> reply) {
  reply[0] = static_cast<std::uint8_t>(p.query.client_id >> 8);
  reply[1] = static_cast<std::uint8_t>(p.query.client_id);
  if (reply.size() > p.query.limit) {
    // Too big for this client: parse and re-serialize within its limit (sets TC).
    auto parsed = parse(reply);
    if (auto* m = std::get_if<Message>(&parsed)) reply = serialize(*m, p.query.limit);
    else reply.resize(12);
  }
  // Whatever wrote it (the upstream, a re-serialisation that lower-cased
  // it, a SERVFAIL of ours), the question goes back as the client spelled it.
  echo_question_case(p.query.packet, reply);
  deliver_(p.to, reply);
}

void Forwarder::fail(std::uint16_t id, Rcode rcode) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Message r;
  r.id = it->second.query.client_id;
  r.qr = true;
  r.rd = true;
  r.ra = true;
  r.rcode = rcode;
  r.questions.push_back(it->second.query.question);
  deliver(it->second, serialize(r, it->second.query.limit));
  pending_.erase(it);
}

void Forwarder::on_upstream(int fd) {
  for (;;) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd, buf_.data(), buf_.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return;
    const std::span<const std::uint8_t> packet(buf_.data(), static_cast<std::size_t>(n));
    auto h = peek_header(packet);
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
    auto parsed = parse(packet);
    auto* m = std::get_if<Message>(&parsed);
    if (!m || m->questions.size() != 1 || !(m->questions.front() == p.query.question)) continue;
    down_until_.erase(*source);
    // Truncated: ask the same upstream again over TCP for the whole answer
    // (a TCP client must get it whole; a UDP client gets as much as fits,
    // with TC, and can come back over TCP).
    if (m->tc && !p.upstream_tcp && start_upstream_tcp(h->id, p, *source)) continue;
    deliver(p, std::vector<std::uint8_t>(packet.begin(), packet.end()));
    pending_.erase(it);
  }
}

bool Forwarder::start_upstream_tcp(std::uint16_t id, Pending& p, const IpAddress& upstream) {
  SockAddr sa = to_sockaddr(upstream, 53);
  core::UniqueFd s(::socket(sa.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s) return false;
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa.ss), sa.len) != 0 && errno != EINPROGRESS) return false;
  const auto& packet = p.query.packet;
  p.tcp_out = {static_cast<std::uint8_t>(packet.size() >> 8), static_cast<std::uint8_t>(packet.size())};
  p.tcp_out.insert(p.tcp_out.end(), packet.begin(), packet.end());
  p.tcp_sent = 0;
  p.tcp_in.clear();
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
  // The descriptor in the tag too: an event for a closed connection whose
  // query id was reused meanwhile is recognised and ignored.
  ev.data.u64 = loop::kUpstreamTcp | (static_cast<std::uint64_t>(id) << 32) | static_cast<std::uint32_t>(s.get());
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, s.get(), &ev) != 0) return false;
  p.upstream_tcp = std::move(s);
  p.next_try = p.started + o_.give_up_after;  // no more UDP tries; the timers give up on it then
  return true;
}

void Forwarder::on_upstream_tcp(std::uint64_t tag, std::uint32_t events) {
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
      ::epoll_ctl(epoll_, EPOLL_CTL_MOD, fd, &ev);
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
      if (!m || !m->qr || m->id != id || m->questions.size() != 1 || !(m->questions.front() == p.query.question))
        return fail(id, Rcode::ServFail);
      deliver(p, std::move(reply));
      pending_.erase(it);
      return;
    }
  }
  if (closed) fail(id, Rcode::ServFail);
}

void Forwarder::on_timers(Clock::time_point now) {
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
}

Clock::time_point Forwarder::next_deadline(Clock::time_point limit) const {
  for (const auto& [id, p] : pending_) limit = std::min(limit, p.next_try);
  return limit;
}

}  // namespace berth::net::dns
