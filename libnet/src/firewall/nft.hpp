// SPDX-License-Identifier: Apache-2.0
// nf_tables over libnftnl + libmnl: one socket, batches that commit as one
// transaction, dumps, and expression builders. C headers stay here.
#pragma once

#include "berth/core/c_handle.hpp"
#include "berth/core/error.hpp"

// <netinet/in.h> before <linux/netfilter.h> (DEPENDENCIES.md, pitfall 14).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace berth::net::nft {

using Table = core::CHandle<nftnl_table, nftnl_table_free>;
using Chain = core::CHandle<nftnl_chain, nftnl_chain_free>;
using Rule = core::CHandle<nftnl_rule, nftnl_rule_free>;
using Set = core::CHandle<nftnl_set, nftnl_set_free>;
using Elem = core::CHandle<nftnl_set_elem, nftnl_set_elem_free>;
using Expr = core::CHandle<nftnl_expr, nftnl_expr_free>;
using MnlSocket = core::CHandle<mnl_socket, mnl_socket_close>;

/// A set element as bytes: key, map data (empty for plain sets), userdata.
struct Element {
  std::string key;
  std::string data;
  std::string userdata;  ///< shown by nft as the element's comment
  friend bool operator==(const Element&, const Element&) = default;
};

/// Declaration of a named set or map.
struct SetSpec {
  std::string name;
  std::uint32_t key_type = 0;
  std::uint32_t key_len = 0;
  std::uint32_t data_type = 0;  ///< 0: a plain set
  std::uint32_t data_len = 0;
  std::uint32_t flags = 0;      ///< NFT_SET_* (NFT_SET_MAP is added for maps)
  /// The key is in host byte order, as strings such as interface names are.
  /// nft reads that from the set's userdata; without it, it takes the key for
  /// a big-endian number and prints an interface name as "".
  bool key_host_order = false;
};

/// Declaration of a chain; a base chain has a hook.
struct ChainSpec {
  std::string name;
  std::string type;  ///< "filter" or "nat"; empty for a regular chain
  std::optional<std::uint32_t> hook;
  std::int32_t priority = 0;
  std::uint32_t policy = NF_ACCEPT;
};

/// A rule as a list of expressions built on demand (so the same rule can be
/// sent in a batch and rendered for comparison with the kernel's).
struct RuleSpec {
  std::string chain;
  std::function<void(nftnl_rule*)> fill;  ///< adds the expressions
  std::string tag;  ///< stored as the rule's comment; identifies the rule (see nft_firewall.cpp)
};

/// A rule as the kernel holds it.
struct RuleInfo {
  std::string chain;
  std::uint64_t handle = 0;
  std::string tag;   ///< the rule's comment
  std::string text;  ///< the expressions rendered by libnftnl (for messages)
};

/// An nfnetlink socket in the namespace it was opened in. Not thread-safe.
class Socket {
public:
  [[nodiscard]] static core::Result<Socket> open();
  /// A socket subscribed to nf_tables change events (NFNLGRP_NFTABLES).
  [[nodiscard]] static core::Result<Socket> open_monitor();

  [[nodiscard]] mnl_socket* get() const noexcept { return sock_.get(); }
  [[nodiscard]] int fd() const noexcept { return mnl_socket_get_fd(sock_.get()); }
  [[nodiscard]] std::uint32_t portid() const noexcept { return portid_; }
  std::uint32_t next_seq() noexcept { return seq_++; }

  /// Sends one request and runs `cb` on every answer until done (dumps and single gets).
  [[nodiscard]] core::Result<void> query(nlmsghdr* request, const std::function<void(const nlmsghdr*)>& cb);

private:
  /// A dump (NLM_F_DUMP): read whole, asked again a few times while the
  /// kernel flags it interrupted by a concurrent change, then handed to `cb`.
  [[nodiscard]] core::Result<void> dump(nlmsghdr* request, const std::function<void(const nlmsghdr*)>& cb);

  Socket(MnlSocket sock, std::uint32_t portid, std::uint32_t seq)
      : sock_(std::move(sock)), portid_(portid), seq_(seq) {}
  MnlSocket sock_;
  std::uint32_t portid_ = 0;
  std::uint32_t seq_ = 0;
};

/// One nf_tables transaction: every message added is applied atomically by
/// `commit`, or none is. Each message carries NLM_F_ACK and a description,
/// so a failure names the object it failed on.
class Batch {
public:
  explicit Batch(std::string table, std::uint16_t family = NFPROTO_INET);

  void add_table();
  void delete_table();
  void add_chain(const ChainSpec& chain);
  void add_set(const SetSpec& set, std::uint32_t id);
  /// Adds elements; with `exclusive`, an existing key fails the whole batch.
  void add_elements(const SetSpec& set, std::span<const Element> elements, bool exclusive, std::string_view what);
  void delete_elements(const SetSpec& set, std::span<const Element> elements, std::string_view what);
  void add_rule(const RuleSpec& rule);
  void delete_rule(std::string_view chain, std::uint64_t handle);

  [[nodiscard]] bool empty() const noexcept { return messages_.empty(); }
  [[nodiscard]] core::Result<void> commit(Socket& sock);

private:
  struct Message {
    std::vector<char> bytes;  // one nlmsghdr and payload; seq set at commit
    std::string what;
  };
  nlmsghdr* start(std::uint16_t type, std::uint16_t flags, std::string what, std::size_t size = 4096);
  void finish(nlmsghdr* nlh);

  std::string table_;
  std::uint16_t family_;
  std::vector<Message> messages_;
};

// Expression builders: each appends one expression to `rule`.
void meta_load(nftnl_rule* rule, std::uint32_t key, std::uint32_t dreg);
void payload_load(nftnl_rule* rule, std::uint32_t base, std::uint32_t offset, std::uint32_t len, std::uint32_t dreg);
void cmp(nftnl_rule* rule, std::uint32_t sreg, std::uint32_t op, const void* data, std::uint32_t len);
void bitwise_mask(nftnl_rule* rule, std::uint32_t reg, const void* mask, std::uint32_t len);
void lookup(nftnl_rule* rule, std::string_view set, std::uint32_t set_id, std::uint32_t sreg,
            std::optional<std::uint32_t> dreg, bool invert);
void ct_load(nftnl_rule* rule, std::uint32_t key, std::uint32_t dreg);
void fib_daddr_type(nftnl_rule* rule, std::uint32_t dreg);
void dnat(nftnl_rule* rule, std::uint32_t family, std::uint32_t addr_reg, std::uint32_t proto_reg);
void masquerade(nftnl_rule* rule);
void verdict(nftnl_rule* rule, int code, std::string_view chain = {});

/// Rendering of a rule's expressions, stable between a rule we build and the
/// same rule read back from the kernel.
[[nodiscard]] std::string render_exprs(nftnl_rule* rule);

// Dumps (all within one table).
[[nodiscard]] core::Result<bool> table_exists(Socket& sock, std::string_view table, std::uint16_t family = NFPROTO_INET);
[[nodiscard]] core::Result<std::vector<std::string>> list_chains(Socket& sock, std::string_view table,
                                                                 std::uint16_t family = NFPROTO_INET);
[[nodiscard]] core::Result<std::vector<std::string>> list_sets(Socket& sock, std::string_view table,
                                                               std::uint16_t family = NFPROTO_INET);
[[nodiscard]] core::Result<std::vector<RuleInfo>> list_rules(Socket& sock, std::string_view table,
                                                             std::uint16_t family = NFPROTO_INET);
[[nodiscard]] core::Result<std::vector<Element>> list_elements(Socket& sock, std::string_view table,
                                                               std::string_view set,
                                                               std::uint16_t family = NFPROTO_INET);

}  // namespace berth::net::nft
