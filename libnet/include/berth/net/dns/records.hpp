// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/net/address.hpp"
#include "berth/net/dns/message.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace berth::net::dns {

/// One container's names on a network.
struct ContainerRecords {
  std::string name;
  std::vector<std::string> aliases;
  std::vector<IpAddress> addresses;
  friend bool operator==(const ContainerRecords&, const ContainerRecords&) = default;
};

/// An SRV record registered by a caller ("_http._tcp.web" -> web:80).
struct SrvRecord {
  std::string name;
  Srv srv;
  friend bool operator==(const SrvRecord&, const SrvRecord&) = default;
};

struct TxtRecord {
  std::string name;
  std::vector<std::string> values;
  friend bool operator==(const TxtRecord&, const TxtRecord&) = default;
};

/// Everything the DNS server knows about one network.
struct NetworkRecords {
  std::string name;
  std::vector<Subnet> subnets;        ///< clients from here are answered from this network
  std::vector<IpAddress> listen;      ///< where the server listens for it (the gateways)
  bool internal = false;              ///< no forwarding for its clients
  std::vector<ContainerRecords> containers;
  std::vector<SrvRecord> srv;
  std::vector<TxtRecord> txt;
  friend bool operator==(const NetworkRecords&, const NetworkRecords&) = default;
};

/// What the zone says about a question.
struct Lookup {
  enum class Kind {
    Answer,    ///< the name exists; `records` may be empty (NODATA)
    NxDomain,  ///< a name in berth's zones that does not exist
    Forward,   ///< not berth's: forward (unless the client is on an internal network)
  };
  Kind kind = Kind::Forward;
  std::vector<Record> records;
};

/// An immutable snapshot of every network's names, built once and shared by
/// the server's threads (swap a new one in to reload). Names answer as
/// `<name>` and `<name>.<domain>`; a flat hash table per network keeps a
/// lookup to one probe.
class Zone {
public:
  Zone(std::vector<NetworkRecords> networks, std::string domain = "berth.internal", std::uint32_t ttl = 5);

  [[nodiscard]] const std::string& domain() const noexcept { return domain_; }
  [[nodiscard]] std::uint32_t ttl() const noexcept { return ttl_; }
  [[nodiscard]] const std::vector<NetworkRecords>& networks() const noexcept { return networks_; }
  /// The network a client address belongs to, or -1.
  [[nodiscard]] int network_of(const IpAddress& client) const noexcept;
  /// Answers `q` for a client of network `network` (-1: none).
  [[nodiscard]] Lookup lookup(int network, const Question& q) const;
  /// The IPv4 (or IPv6) addresses of a lower-case name on network `network`
  /// (>= 0), as lookup() would answer them, without building records (the
  /// server's fast path); nullptr when the network has no such name.
  [[nodiscard]] const std::vector<IpAddress>* addresses(int network, std::string_view name, bool v6) const;

private:
  struct Entry {
    std::vector<IpAddress> v4, v6;
    std::vector<Srv> srv;
    std::vector<std::vector<std::string>> txt;
    std::vector<std::string> ptr;
  };
  // Transparent, so a name read into a buffer is looked up without a string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Table = std::unordered_map<std::string, Entry, NameHash, std::equal_to<>>;
  [[nodiscard]] bool in_our_zones(const std::string& name) const;

  std::vector<NetworkRecords> networks_;
  std::string domain_;
  std::uint32_t ttl_;
  std::vector<Table> tables_;  // one per network
  std::vector<Subnet> reverse_scopes_;
};

/// The registration API the daemon uses: add and remove a container's
/// records on a network; `snapshot()` gives the Zone to hand to the server
/// (`Server::update`). Thread-safe.
class Registry {
public:
  explicit Registry(std::string domain = "berth.internal", std::uint32_t ttl = 5);

  /// Declares a network (subnets, listen addresses, internal); keeps its records when it exists.
  void set_network(const std::string& name, std::vector<Subnet> subnets, std::vector<IpAddress> listen,
                   bool internal);
  void remove_network(const std::string& name);
  /// Adds or replaces (by name) a container's records on a network; false when the network is unknown.
  [[nodiscard]] bool add_container(const std::string& network, ContainerRecords container);
  /// Removes a container's records; false when there were none.
  bool remove_container(const std::string& network, const std::string& name);
  [[nodiscard]] bool add_srv(const std::string& network, SrvRecord srv);
  [[nodiscard]] bool add_txt(const std::string& network, TxtRecord txt);

  [[nodiscard]] std::shared_ptr<const Zone> snapshot() const;
  [[nodiscard]] std::vector<NetworkRecords> networks() const;

private:
  NetworkRecords* find(const std::string& network);
  mutable std::mutex mutex_;
  std::string domain_;
  std::uint32_t ttl_;
  std::vector<NetworkRecords> networks_;
};

}  // namespace berth::net::dns
