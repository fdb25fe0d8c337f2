// SPDX-License-Identifier: Apache-2.0
#include "berth/net/dns/records.hpp"

namespace berth::net::dns {
namespace {

bool ends_with_label(const std::string& name, const std::string& suffix) {
  if (name == suffix) return true;
  return name.size() > suffix.size() && name.ends_with(suffix) && name[name.size() - suffix.size() - 1] == '.';
}

}  // namespace

Zone::Zone(std::vector<NetworkRecords> networks, std::string domain, std::uint32_t ttl)
    : networks_(std::move(networks)), domain_(lower(domain)), ttl_(ttl) {
  tables_.resize(networks_.size());
  for (std::size_t i = 0; i < networks_.size(); ++i) {
    Table& t = tables_[i];
    const auto& n = networks_[i];
    auto both = [&](const std::string& name, auto&& add) {
      const std::string l = lower(name);
      if (l.empty()) return;
      add(t[l]);
      if (!domain_.empty() && !ends_with_label(l, domain_)) add(t[l + "." + domain_]);
    };
    for (const auto& c : n.containers) {
      std::vector<std::string> names{c.name};
      names.insert(names.end(), c.aliases.begin(), c.aliases.end());
      for (const auto& name : names)
        both(name, [&](Entry& e) {
          for (const auto& a : c.addresses) (a.is_v4() ? e.v4 : e.v6).push_back(a);
        });
      // Reverse: the container's own name, fully qualified.
      const std::string fqdn = domain_.empty() ? lower(c.name) : lower(c.name) + "." + domain_;
      for (const auto& a : c.addresses) t[reverse_name(a)].ptr.push_back(fqdn);
    }
    for (const auto& s : n.srv) {
      Srv srv = s.srv;
      srv.target = lower(srv.target);
      if (!domain_.empty() && srv.target.find('.') == std::string::npos) srv.target += "." + domain_;
      both(s.name, [&](Entry& e) { e.srv.push_back(srv); });
    }
    for (const auto& x : n.txt) both(x.name, [&](Entry& e) { e.txt.push_back(x.values); });
    for (const auto& s : n.subnets) reverse_scopes_.push_back(s);
  }
}

int Zone::network_of(const IpAddress& client) const noexcept {
  for (std::size_t i = 0; i < networks_.size(); ++i)
    for (const auto& s : networks_[i].subnets)
      if (s.contains(client)) return static_cast<int>(i);
  return -1;
}

bool Zone::in_our_zones(const std::string& name) const {
  if (!domain_.empty() && ends_with_label(name, domain_)) return true;
  // Reverse names inside our subnets are ours: never leak them upstream.
  for (const auto& s : reverse_scopes_) {
    if (s.is_v4() && s.prefix_length() >= 8 && ends_with_label(name, "in-addr.arpa")) {
      auto base = reverse_name(s.network());
      // The zone of the first `prefix/8` whole octets.
      std::size_t drop = 4 - s.prefix_length() / 8;
      std::size_t pos = 0;
      for (std::size_t k = 0; k < drop; ++k) pos = base.find('.', pos) + 1;
      if (ends_with_label(name, base.substr(pos))) return true;
    }
    if (s.is_v6() && s.prefix_length() >= 4 && ends_with_label(name, "ip6.arpa")) {
      auto base = reverse_name(s.network());
      std::size_t drop = 32 - s.prefix_length() / 4;
      if (ends_with_label(name, base.substr(drop * 2))) return true;
    }
  }
  return false;
}

Lookup Zone::lookup(int network, const Question& q) const {
  Lookup out;
  if (network >= 0) {
    const Table& t = tables_[static_cast<std::size_t>(network)];
    if (auto it = t.find(q.name); it != t.end()) {
      out.kind = Lookup::Kind::Answer;
      const Entry& e = it->second;
      auto add = [&](std::uint16_t rtype, Rdata data) {
        out.records.push_back(Record{q.name, rtype, kClassIn, ttl_, std::move(data)});
      };
      const bool any = q.qtype == type::ANY;
      if (q.qtype == type::A || any)
        for (const auto& a : e.v4) add(type::A, a);
      if (q.qtype == type::AAAA || any)
        for (const auto& a : e.v6) add(type::AAAA, a);
      if (q.qtype == type::SRV || any)
        for (const auto& s : e.srv) add(type::SRV, s);
      if (q.qtype == type::TXT || any)
        for (const auto& x : e.txt) add(type::TXT, x);
      if (q.qtype == type::PTR || any)
        for (const auto& p : e.ptr) add(type::PTR, p);
      return out;
    }
  }
  out.kind = in_our_zones(q.name) ? Lookup::Kind::NxDomain : Lookup::Kind::Forward;
  return out;
}

const std::vector<IpAddress>* Zone::addresses(int network, std::string_view name, bool v6) const {
  const Table& t = tables_[static_cast<std::size_t>(network)];
  auto it = t.find(name);
  if (it == t.end()) return nullptr;
  return v6 ? &it->second.v6 : &it->second.v4;
}

Registry::Registry(std::string domain, std::uint32_t ttl) : domain_(std::move(domain)), ttl_(ttl) {}

NetworkRecords* Registry::find(const std::string& network) {
  for (auto& n : networks_)
    if (n.name == network) return &n;
  return nullptr;
}

void Registry::set_network(const std::string& name, std::vector<Subnet> subnets, std::vector<IpAddress> listen,
                           bool internal) {
  std::lock_guard lock(mutex_);
  NetworkRecords* n = find(name);
  if (!n) {
    networks_.push_back(NetworkRecords{.name = name});
    n = &networks_.back();
  }
  n->subnets = std::move(subnets);
  n->listen = std::move(listen);
  n->internal = internal;
}

void Registry::remove_network(const std::string& name) {
  std::lock_guard lock(mutex_);
  std::erase_if(networks_, [&](const NetworkRecords& n) { return n.name == name; });
}

bool Registry::add_container(const std::string& network, ContainerRecords container) {
  std::lock_guard lock(mutex_);
  NetworkRecords* n = find(network);
  if (!n) return false;
  std::erase_if(n->containers, [&](const ContainerRecords& c) { return c.name == container.name; });
  n->containers.push_back(std::move(container));
  return true;
}

bool Registry::remove_container(const std::string& network, const std::string& name) {
  std::lock_guard lock(mutex_);
  NetworkRecords* n = find(network);
  return n && std::erase_if(n->containers, [&](const ContainerRecords& c) { return c.name == name; }) > 0;
}

bool Registry::add_srv(const std::string& network, SrvRecord srv) {
  std::lock_guard lock(mutex_);
  NetworkRecords* n = find(network);
  if (!n) return false;
  n->srv.push_back(std::move(srv));
  return true;
}

bool Registry::add_txt(const std::string& network, TxtRecord txt) {
  std::lock_guard lock(mutex_);
  NetworkRecords* n = find(network);
  if (!n) return false;
  n->txt.push_back(std::move(txt));
  return true;
}

std::shared_ptr<const Zone> Registry::snapshot() const {
  std::lock_guard lock(mutex_);
  return std::make_shared<const Zone>(networks_, domain_, ttl_);
}

std::vector<NetworkRecords> Registry::networks() const {
  std::lock_guard lock(mutex_);
  return networks_;
}

}  // namespace berth::net::dns
