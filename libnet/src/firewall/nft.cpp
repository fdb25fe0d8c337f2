// SPDX-License-Identifier: Apache-2.0
#include "firewall/nft.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <poll.h>
#include <sys/socket.h>

namespace berth::net::nft {
namespace {

using core::Errc;
using core::make_error;
using core::Result;

constexpr std::size_t kRecvBuffer = 1 << 16;
constexpr int kReplyTimeoutMs = 5000;
constexpr std::size_t kElementsPerMessage = 256;
constexpr int kSocketBuffer = 8 << 20;  // a repair of 10 000 port maps is one batch

Result<MnlSocket> open_socket(unsigned groups) {
  MnlSocket sock(mnl_socket_open(NETLINK_NETFILTER));
  if (!sock) return core::errno_error(errno, "open nf_tables socket");
  if (mnl_socket_bind(sock.get(), groups, MNL_SOCKET_AUTOPID) < 0)
    return core::errno_error(errno, "bind nf_tables socket");
  int one = 1;
  // Acks carry only the header of what they answer, not the whole message.
  mnl_socket_setsockopt(sock.get(), NETLINK_CAP_ACK, &one, sizeof one);
  mnl_socket_setsockopt(sock.get(), NETLINK_EXT_ACK, &one, sizeof one);
  int size = kSocketBuffer;
  int fd = mnl_socket_get_fd(sock.get());
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  return sock;
}

Result<void> wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int n = ::poll(&p, 1, kReplyTimeoutMs);
    if (n > 0) return {};
    if (n == 0) return make_error(Errc::timed_out, "no answer from nf_tables");
    if (errno != EINTR) return core::errno_error(errno, "poll nf_tables socket");
  }
}

Expr new_expr(const char* name) {
  Expr e(nftnl_expr_alloc(name));
  BERTH_ASSERT(e != nullptr);
  return e;
}

void add(nftnl_rule* rule, Expr e) { nftnl_rule_add_expr(rule, e.release()); }

int collect_expr(nftnl_expr* e, void* data) {
  auto* out = static_cast<std::string*>(data);
  char buf[512];
  nftnl_expr_snprintf(buf, sizeof buf, e, NFTNL_OUTPUT_DEFAULT, 0);
  out->append("[ ").append(buf).append(" ]");
  return 0;
}

/// An attribute's bytes. Takes the getter, so the length is read after the
/// call that sets it (argument evaluation order is unspecified).
template <class Get>
std::string attr_bytes(Get&& get) {
  uint32_t len = 0;
  const void* data = get(&len);
  if (!data) return {};
  return std::string(static_cast<const char*>(data), len);
}

/// Userdata as nft writes it: a TLV list with one comment (type 0 for rules
/// and set elements alike), so `nft list` shows `comment "..."`.
std::string encode_comment(std::string_view text) {
  using Buf = core::CHandle<nftnl_udata_buf, nftnl_udata_buf_free>;
  Buf buf(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
  std::string s(text.substr(0, NFTNL_UDATA_COMMENT_MAXLEN - 1));
  nftnl_udata_put_strz(buf.get(), NFTNL_UDATA_RULE_COMMENT, s.c_str());
  return std::string(static_cast<const char*>(nftnl_udata_buf_data(buf.get())), nftnl_udata_buf_len(buf.get()));
}

std::string decode_comment(const std::string& raw) {
  std::string out;
  nftnl_udata_parse(
      raw.data(), static_cast<uint32_t>(raw.size()),
      [](const nftnl_udata* attr, void* data) -> int {
        if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
          *static_cast<std::string*>(data) = static_cast<const char*>(nftnl_udata_get(attr));
        return 0;
      },
      &out);
  return out;
}

}  // namespace

Result<Socket> Socket::open() {
  auto s = open_socket(0);
  if (!s) return s.error();
  auto portid = mnl_socket_get_portid(s->get());
  return Socket(std::move(*s), portid, static_cast<std::uint32_t>(std::time(nullptr)));
}

Result<Socket> Socket::open_monitor() {
  auto s = open_socket(1u << (NFNLGRP_NFTABLES - 1));
  if (!s) return s.error();
  auto portid = mnl_socket_get_portid(s->get());
  return Socket(std::move(*s), portid, 0);
}

namespace {

/// What one received datagram says about the answer to request `seq`.
struct PartInfo {
  bool interrupted = false;  ///< the kernel flagged the dump inconsistent (NLM_F_DUMP_INTR)
  bool last = false;         ///< it holds the answer's end (NLMSG_DONE or NLMSG_ERROR)
};

PartInfo inspect_part(const char* buf, std::size_t len, std::uint32_t seq) {
  PartInfo info;
  int left = static_cast<int>(len);
  for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
    if (nlh->nlmsg_seq != seq) continue;
    if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) info.interrupted = true;
    if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) info.last = true;
  }
  return info;
}

/// Runs the callback of a query over one datagram of its answer.
int run_callbacks(const char* part, std::size_t len, std::uint32_t seq, std::uint32_t portid,
                  const std::function<void(const nlmsghdr*)>& cb) {
  struct Ctx {
    const std::function<void(const nlmsghdr*)>* cb;
  } ctx{&cb};
  return mnl_cb_run(
      part, len, seq, portid,
      [](const nlmsghdr* nlh, void* data) -> int {
        (*static_cast<Ctx*>(data)->cb)(nlh);
        return MNL_CB_OK;
      },
      &ctx);
}

// A dump longer than one read comes back flagged NLM_F_DUMP_INTR when any
// transaction commits between its reads, another owner's included: the
// kernel keeps one generation count for the whole ruleset. It is read to its
// end and asked again, a few times. Then it is taken as it is: a dump is
// filtered to one table, resumes by its position in that table, and so is
// exact unless that very table changed, and an owner's own writes are
// serialised (its lock; the native backend's file lock). Under another
// owner's steady churn (CNI runtimes, several instances starting) no dump
// would ever come back unflagged.
constexpr int kDumpAttempts = 5;

/// Clears NLM_F_DUMP_INTR, which mnl_cb_run would turn into an EINTR failure.
void accept_interrupted(std::vector<char>& part) {
  int left = static_cast<int>(part.size());
  for (auto* nlh = reinterpret_cast<nlmsghdr*>(part.data()); mnl_nlmsg_ok(nlh, left);
       nlh = mnl_nlmsg_next(nlh, &left))
    nlh->nlmsg_flags &= static_cast<std::uint16_t>(~NLM_F_DUMP_INTR);
}

}  // namespace

Result<void> Socket::query(nlmsghdr* request, const std::function<void(const nlmsghdr*)>& cb) {
  const std::uint32_t seq = request->nlmsg_seq;
  if ((request->nlmsg_flags & NLM_F_DUMP) != 0) return dump(request, cb);
  if (mnl_socket_sendto(sock_.get(), request, request->nlmsg_len) < 0)
    return core::errno_error(errno, "send nf_tables request");
  std::vector<char> buf(kRecvBuffer);
  for (;;) {
    if (auto r = wait_readable(fd()); !r) return r;
    ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
    if (n < 0) return core::errno_error(errno, "read nf_tables answer");
    int rc = run_callbacks(buf.data(), static_cast<std::size_t>(n), seq, portid_, cb);
    if (rc == MNL_CB_STOP) return {};
    if (rc < 0) return core::errno_error(errno, {});
  }
}

Result<void> Socket::dump(nlmsghdr* request, const std::function<void(const nlmsghdr*)>& cb) {
  for (int attempt = 1;; ++attempt) {
    if (mnl_socket_sendto(sock_.get(), request, request->nlmsg_len) < 0)
      return core::errno_error(errno, "send nf_tables request");
    const std::uint32_t seq = request->nlmsg_seq;
    // The callback sees a dump only once it came whole, so a retry never
    // hands it the same object twice.
    std::vector<std::vector<char>> parts;
    PartInfo answer;
    while (!answer.last) {
      if (auto r = wait_readable(fd()); !r) return r;
      std::vector<char> buf(kRecvBuffer);
      ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
      if (n < 0) return core::errno_error(errno, "read nf_tables answer");
      buf.resize(static_cast<std::size_t>(n));
      const PartInfo part = inspect_part(buf.data(), buf.size(), seq);
      answer.interrupted = answer.interrupted || part.interrupted;
      answer.last = part.last;
      parts.push_back(std::move(buf));
    }
    if (answer.interrupted && attempt < kDumpAttempts) {
      request->nlmsg_seq = next_seq();
      continue;
    }
    for (auto& part : parts) {
      if (answer.interrupted) accept_interrupted(part);
      int rc = run_callbacks(part.data(), part.size(), seq, portid_, cb);
      if (rc == MNL_CB_STOP) return {};
      if (rc < 0) return core::errno_error(errno, {});
    }
    return make_error(Errc::protocol, "nf_tables dump ended without NLMSG_DONE");
  }
}

Batch::Batch(std::string table, std::uint16_t family) : table_(std::move(table)), family_(family) {}

nlmsghdr* Batch::start(std::uint16_t type, std::uint16_t flags, std::string what, std::size_t size) {
  Message m;
  m.bytes.resize(size);
  m.what = std::move(what);
  messages_.push_back(std::move(m));
  return nftnl_nlmsg_build_hdr(messages_.back().bytes.data(), type, family_, flags | NLM_F_ACK, 0);
}

void Batch::finish(nlmsghdr* nlh) {
  Message& m = messages_.back();
  BERTH_ASSERT(nlh->nlmsg_len <= m.bytes.size());
  m.bytes.resize(nlh->nlmsg_len);
}

void Batch::add_table() {
  Table t(nftnl_table_alloc());
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table_.c_str());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, family_);
  auto* nlh = start(NFT_MSG_NEWTABLE, NLM_F_CREATE, fmt::format("create table '{}'", table_));
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  finish(nlh);
}

void Batch::delete_table() {
  Table t(nftnl_table_alloc());
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table_.c_str());
  nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, family_);
  auto* nlh = start(NFT_MSG_DELTABLE, 0, fmt::format("delete table '{}'", table_));
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  finish(nlh);
}

void Batch::add_chain(const ChainSpec& spec) {
  Chain c(nftnl_chain_alloc());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table_.c_str());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, spec.name.c_str());
  nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, family_);
  if (spec.hook) {
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, *spec.hook);
    nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, spec.priority);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, spec.type.c_str());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, spec.policy);
  }
  auto* nlh = start(NFT_MSG_NEWCHAIN, NLM_F_CREATE, fmt::format("create chain '{}'", spec.name));
  nftnl_chain_nlmsg_build_payload(nlh, c.get());
  finish(nlh);
}

void Batch::add_set(const SetSpec& spec, std::uint32_t id) {
  Set s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table_.c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, spec.name.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, family_);
  nftnl_set_set_u32(s.get(), NFTNL_SET_ID, id);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, spec.key_type);
  nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, spec.key_len);
  std::uint32_t flags = spec.flags;
  if (spec.data_len) {
    flags |= NFT_SET_MAP;
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, spec.data_type);
    nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_LEN, spec.data_len);
  }
  nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, flags);
  if (spec.key_host_order) {
    using Buf = core::CHandle<nftnl_udata_buf, nftnl_udata_buf_free>;
    Buf buf(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
    BERTH_ASSERT(buf != nullptr);
    constexpr std::uint32_t kHostEndian = 1;  // nftables' BYTEORDER_HOST_ENDIAN
    nftnl_udata_put_u32(buf.get(), NFTNL_UDATA_SET_KEYBYTEORDER, kHostEndian);
    nftnl_set_set_data(s.get(), NFTNL_SET_USERDATA, nftnl_udata_buf_data(buf.get()), nftnl_udata_buf_len(buf.get()));
  }
  auto* nlh = start(NFT_MSG_NEWSET, NLM_F_CREATE, fmt::format("create set '{}'", spec.name));
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  finish(nlh);
}

namespace {
template <class Start, class Finish>
void element_messages(const std::string& table, std::uint16_t family, const SetSpec& spec,
                      std::span<const Element> elements, Start&& start_msg, Finish&& finish_msg) {
  for (std::size_t first = 0; first < elements.size(); first += kElementsPerMessage) {
    auto chunk = elements.subspan(first, std::min(kElementsPerMessage, elements.size() - first));
    Set s(nftnl_set_alloc());
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table.c_str());
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, spec.name.c_str());
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, family);
    std::size_t size = 512;
    for (const Element& e : chunk) {
      Elem el(nftnl_set_elem_alloc());
      nftnl_set_elem_set(el.get(), NFTNL_SET_ELEM_KEY, e.key.data(), static_cast<uint32_t>(e.key.size()));
      if (!e.data.empty())
        nftnl_set_elem_set(el.get(), NFTNL_SET_ELEM_DATA, e.data.data(), static_cast<uint32_t>(e.data.size()));
      if (!e.userdata.empty()) {
        std::string udata = encode_comment(e.userdata);
        nftnl_set_elem_set(el.get(), NFTNL_SET_ELEM_USERDATA, udata.data(), static_cast<uint32_t>(udata.size()));
      }
      nftnl_set_elem_add(s.get(), el.release());
      size += 96 + e.key.size() + e.data.size() + e.userdata.size();
    }
    nlmsghdr* nlh = start_msg(size);
    nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
    finish_msg(nlh);
  }
}
}  // namespace

void Batch::add_elements(const SetSpec& set, std::span<const Element> elements, bool exclusive,
                         std::string_view what) {
  element_messages(
      table_, family_, set, elements,
      [&](std::size_t size) {
        return start(NFT_MSG_NEWSETELEM, NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0), std::string(what), size);
      },
      [&](nlmsghdr* nlh) { finish(nlh); });
}

void Batch::delete_elements(const SetSpec& set, std::span<const Element> elements, std::string_view what) {
  element_messages(
      table_, family_, set, elements,
      [&](std::size_t size) { return start(NFT_MSG_DELSETELEM, 0, std::string(what), size); },
      [&](nlmsghdr* nlh) { finish(nlh); });
}

void Batch::add_rule(const RuleSpec& spec) {
  Rule r(nftnl_rule_alloc());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table_.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, spec.chain.c_str());
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family_);
  if (!spec.tag.empty()) {
    std::string udata = encode_comment(spec.tag);
    nftnl_rule_set_data(r.get(), NFTNL_RULE_USERDATA, udata.data(), static_cast<uint32_t>(udata.size()));
  }
  spec.fill(r.get());
  auto* nlh = start(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, fmt::format("add rule to chain '{}'", spec.chain));
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  finish(nlh);
}

void Batch::delete_rule(std::string_view chain, std::uint64_t handle) {
  Rule r(nftnl_rule_alloc());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table_.c_str());
  nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, std::string(chain).c_str());
  nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, family_);
  nftnl_rule_set_u64(r.get(), NFTNL_RULE_HANDLE, handle);
  auto* nlh = start(NFT_MSG_DELRULE, 0, fmt::format("delete rule {} of chain '{}'", handle, chain));
  nftnl_rule_nlmsg_build_payload(nlh, r.get());
  finish(nlh);
}

Result<void> Batch::commit(Socket& sock) {
  if (messages_.empty()) return {};
  std::size_t total = 2 * MNL_NLMSG_HDRLEN + 64;
  for (const auto& m : messages_) total += MNL_ALIGN(m.bytes.size());
  std::vector<char> buf(total);
  std::size_t off = 0;
  const std::uint32_t begin_seq = sock.next_seq();
  off += nftnl_batch_begin(buf.data() + off, begin_seq)->nlmsg_len;
  off = MNL_ALIGN(off);
  std::vector<std::uint32_t> seqs;
  seqs.reserve(messages_.size());
  for (auto& m : messages_) {
    auto* nlh = reinterpret_cast<nlmsghdr*>(m.bytes.data());
    nlh->nlmsg_seq = sock.next_seq();
    seqs.push_back(nlh->nlmsg_seq);
    std::memcpy(buf.data() + off, m.bytes.data(), m.bytes.size());
    off += MNL_ALIGN(m.bytes.size());
  }
  off += nftnl_batch_end(buf.data() + off, sock.next_seq())->nlmsg_len;

  if (mnl_socket_sendto(sock.get(), buf.data(), off) < 0)
    return core::errno_error(errno, fmt::format("send nf_tables batch of {} messages", messages_.size()));

  // One reply per message (all carry NLM_F_ACK); on failure the kernel still
  // answers every message, and the first error is the cause.
  std::size_t replies = 0;
  int first_error = 0;
  std::uint32_t first_error_seq = 0;
  std::vector<char> rbuf(kRecvBuffer);
  while (replies < messages_.size()) {
    if (auto r = wait_readable(sock.fd()); !r) return r;
    ssize_t n = mnl_socket_recvfrom(sock.get(), rbuf.data(), rbuf.size());
    if (n < 0) return core::errno_error(errno, "read nf_tables replies");
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(rbuf.data()); mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      ++replies;
      if (err->error != 0 && (first_error == 0 || nlh->nlmsg_seq < first_error_seq)) {
        first_error = -err->error;
        first_error_seq = nlh->nlmsg_seq;
      }
    }
  }
  if (first_error != 0) {
    std::string what = "nf_tables transaction";
    for (std::size_t i = 0; i < seqs.size(); ++i)
      if (seqs[i] == first_error_seq) what = messages_[i].what;
    return core::errno_error(first_error, what);
  }
  return {};
}

// Expression builders --------------------------------------------------------

void meta_load(nftnl_rule* rule, std::uint32_t key, std::uint32_t dreg) {
  Expr e = new_expr("meta");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_DREG, dreg);
  add(rule, std::move(e));
}

void payload_load(nftnl_rule* rule, std::uint32_t base, std::uint32_t offset, std::uint32_t len, std::uint32_t dreg) {
  Expr e = new_expr("payload");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, dreg);
  add(rule, std::move(e));
}

void cmp(nftnl_rule* rule, std::uint32_t sreg, std::uint32_t op, const void* data, std::uint32_t len) {
  Expr e = new_expr("cmp");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, sreg);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e.get(), NFTNL_EXPR_CMP_DATA, data, len);
  add(rule, std::move(e));
}

void bitwise_mask(nftnl_rule* rule, std::uint32_t reg, const void* mask, std::uint32_t len) {
  Expr e = new_expr("bitwise");
  std::vector<char> zero(len, 0);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_SREG, reg);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_DREG, reg);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_BITWISE_LEN, len);
  nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_MASK, mask, len);
  nftnl_expr_set(e.get(), NFTNL_EXPR_BITWISE_XOR, zero.data(), len);
  add(rule, std::move(e));
}

void lookup(nftnl_rule* rule, std::string_view set, std::uint32_t set_id, std::uint32_t sreg,
            std::optional<std::uint32_t> dreg, bool invert) {
  Expr e = new_expr("lookup");
  nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, std::string(set).c_str());
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SET_ID, set_id);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SREG, sreg);
  if (dreg) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_DREG, *dreg);
  if (invert) nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
  add(rule, std::move(e));
}

void ct_load(nftnl_rule* rule, std::uint32_t key, std::uint32_t dreg) {
  Expr e = new_expr("ct");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_KEY, key);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CT_DREG, dreg);
  add(rule, std::move(e));
}

void fib_daddr_type(nftnl_rule* rule, std::uint32_t dreg) {
  Expr e = new_expr("fib");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_FLAGS, NFTA_FIB_F_DADDR);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_FIB_DREG, dreg);
  add(rule, std::move(e));
}

void dnat(nftnl_rule* rule, std::uint32_t family, std::uint32_t addr_reg, std::uint32_t proto_reg) {
  Expr e = new_expr("nat");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_FAMILY, family);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_ADDR_MIN, addr_reg);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_NAT_REG_PROTO_MIN, proto_reg);
  add(rule, std::move(e));
}

void masquerade(nftnl_rule* rule) { add(rule, new_expr("masq")); }

void verdict(nftnl_rule* rule, int code, std::string_view chain) {
  Expr e = new_expr("immediate");
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
  nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, static_cast<std::uint32_t>(code));
  if (!chain.empty()) nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, std::string(chain).c_str());
  add(rule, std::move(e));
}

std::string render_exprs(nftnl_rule* rule) {
  std::string out;
  nftnl_expr_foreach(rule, collect_expr, &out);
  return out;
}

// Dumps ----------------------------------------------------------------------

Result<bool> table_exists(Socket& sock, std::string_view table, std::uint16_t family) {
  std::vector<char> buf(4096);
  Table t(nftnl_table_alloc());
  nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, std::string(table).c_str());
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, family, NLM_F_ACK, sock.next_seq());
  nftnl_table_nlmsg_build_payload(nlh, t.get());
  auto r = sock.query(nlh, [](const nlmsghdr*) {});
  if (r) return true;
  if (r.error().code == std::errc::no_such_file_or_directory) return false;
  return std::move(r).error().wrap(fmt::format("look up table '{}'", table));
}

Result<std::vector<std::string>> list_chains(Socket& sock, std::string_view table, std::uint16_t family) {
  std::vector<char> buf(4096);
  Chain c(nftnl_chain_alloc());
  nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, std::string(table).c_str());
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETCHAIN, family, NLM_F_DUMP, sock.next_seq());
  nftnl_chain_nlmsg_build_payload(nlh, c.get());
  std::vector<std::string> out;
  const std::string want(table);
  auto r = sock.query(nlh, [&](const nlmsghdr* m) {
    Chain got(nftnl_chain_alloc());
    if (nftnl_chain_nlmsg_parse(m, got.get()) < 0) return;
    if (want == nftnl_chain_get_str(got.get(), NFTNL_CHAIN_TABLE))
      out.emplace_back(nftnl_chain_get_str(got.get(), NFTNL_CHAIN_NAME));
  });
  if (!r) return std::move(r).error().wrap(fmt::format("list chains of table '{}'", table));
  return out;
}

Result<std::vector<std::string>> list_sets(Socket& sock, std::string_view table, std::uint16_t family) {
  std::vector<char> buf(4096);
  Set s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, std::string(table).c_str());
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSET, family, NLM_F_DUMP | NLM_F_ACK, sock.next_seq());
  nftnl_set_nlmsg_build_payload(nlh, s.get());
  std::vector<std::string> out;
  auto r = sock.query(nlh, [&](const nlmsghdr* m) {
    Set got(nftnl_set_alloc());
    if (nftnl_set_nlmsg_parse(m, got.get()) < 0) return;
    out.emplace_back(nftnl_set_get_str(got.get(), NFTNL_SET_NAME));
  });
  if (!r) return std::move(r).error().wrap(fmt::format("list sets of table '{}'", table));
  return out;
}

Result<std::vector<RuleInfo>> list_rules(Socket& sock, std::string_view table, std::uint16_t family) {
  std::vector<char> buf(4096);
  Rule q(nftnl_rule_alloc());
  nftnl_rule_set_str(q.get(), NFTNL_RULE_TABLE, std::string(table).c_str());
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETRULE, family, NLM_F_DUMP, sock.next_seq());
  nftnl_rule_nlmsg_build_payload(nlh, q.get());
  std::vector<RuleInfo> out;
  const std::string want(table);
  auto r = sock.query(nlh, [&](const nlmsghdr* m) {
    Rule got(nftnl_rule_alloc());
    if (nftnl_rule_nlmsg_parse(m, got.get()) < 0) return;
    if (want != nftnl_rule_get_str(got.get(), NFTNL_RULE_TABLE)) return;
    RuleInfo info;
    info.chain = nftnl_rule_get_str(got.get(), NFTNL_RULE_CHAIN);
    info.handle = nftnl_rule_get_u64(got.get(), NFTNL_RULE_HANDLE);
    if (nftnl_rule_is_set(got.get(), NFTNL_RULE_USERDATA))
      info.tag = decode_comment(
          attr_bytes([&](uint32_t* len) { return nftnl_rule_get_data(got.get(), NFTNL_RULE_USERDATA, len); }));
    info.text = render_exprs(got.get());
    out.push_back(std::move(info));
  });
  if (!r) return std::move(r).error().wrap(fmt::format("list rules of table '{}'", table));
  return out;
}

Result<std::vector<Element>> list_elements(Socket& sock, std::string_view table, std::string_view set,
                                           std::uint16_t family) {
  std::vector<char> buf(4096);
  Set s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, std::string(table).c_str());
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, std::string(set).c_str());
  auto* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, family, NLM_F_DUMP | NLM_F_ACK, sock.next_seq());
  nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
  std::vector<Element> out;
  auto r = sock.query(nlh, [&](const nlmsghdr* m) {
    Set got(nftnl_set_alloc());
    if (nftnl_set_elems_nlmsg_parse(m, got.get()) < 0) return;
    nftnl_set_elem_foreach(
        got.get(),
        [](nftnl_set_elem* e, void* data) -> int {
          Element el;
          auto get = [e](uint16_t attr) {
            return attr_bytes([&](uint32_t* len) { return nftnl_set_elem_get(e, attr, len); });
          };
          el.key = get(NFTNL_SET_ELEM_KEY);
          if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA)) el.data = get(NFTNL_SET_ELEM_DATA);
          if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA)) el.userdata = decode_comment(get(NFTNL_SET_ELEM_USERDATA));
          static_cast<std::vector<Element>*>(data)->push_back(std::move(el));
          return 0;
        },
        &out);
  });
  if (!r) return std::move(r).error().wrap(fmt::format("list elements of set '{}'", set));
  return out;
}

}  // namespace berth::net::nft
