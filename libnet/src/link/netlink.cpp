// SPDX-License-Identifier: Apache-2.0
#include "link/netlink.hpp"

#include <netlink/errno.h>
#include <netlink/handlers.h>

#include <cerrno>

namespace berth::net::nl {
namespace {

/// The errno a libnl code most likely came from, or 0 when there is none.
int nl_to_errno(int code) {
  switch (code < 0 ? -code : code) {
    case NLE_EXIST: return EEXIST;
    case NLE_INVAL: return EINVAL;
    case NLE_RANGE: return ERANGE;
    case NLE_NOMEM: return ENOMEM;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND: return ENOENT;
    case NLE_NOACCESS: return EACCES;
    case NLE_PERM: return EPERM;
    case NLE_BUSY: return EBUSY;
    case NLE_NODEV: return ENODEV;
    case NLE_NOADDR: return EADDRNOTAVAIL;
    case NLE_AGAIN: return EAGAIN;
    case NLE_INTR: return EINTR;
    case NLE_BAD_SOCK: return EBADF;
    default: return 0;
  }
}

class NlCategory final : public std::error_category {
public:
  const char* name() const noexcept override { return "libnl"; }
  std::string message(int value) const override { return nl_geterror(value); }
};

struct AckState {
  int error = 0;  // positive errno from the kernel
  bool done = false;
};

int on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* state = static_cast<AckState*>(arg);
  state->error = -err->error;
  state->done = true;
  return NL_STOP;
}

int on_ack(nl_msg*, void* arg) {
  static_cast<AckState*>(arg)->done = true;
  return NL_STOP;
}

}  // namespace

core::Error from_nl(int nl_error, std::string context) {
  if (int e = nl_to_errno(nl_error)) return core::errno_error(e, std::move(context));
  static const NlCategory category;
  return core::make_error(std::error_code(nl_error < 0 ? -nl_error : nl_error, category), std::move(context));
}

core::Result<Sock> connect_route() {
  Sock sk(nl_socket_alloc());
  if (!sk) return core::errno_error(ENOMEM, "allocate netlink socket");
  if (int rc = nl_connect(sk.get(), NETLINK_ROUTE); rc < 0) return from_nl(rc, "connect rtnetlink");
  return sk;
}

core::Result<void> transact(nl_sock* sk, Msg msg) {
  // nl_send_auto sets NLM_F_ACK (auto-ack is on for new sockets) and the seq.
  if (int rc = nl_send_auto(sk, msg.get()); rc < 0) return from_nl(rc, "send netlink request");
  Cb base(nl_socket_get_cb(sk));  // a new reference
  Cb cb(nl_cb_clone(base.get()));
  if (!cb) return core::errno_error(ENOMEM, "allocate netlink callbacks");
  AckState state;
  nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &state);
  nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_ack, &state);
  while (!state.done) {
    int rc = nl_recvmsgs(sk, cb.get());
    if (state.done) break;
    if (rc < 0) return from_nl(rc, "read netlink answer");
  }
  if (state.error != 0) return core::errno_error(state.error, {});
  return {};
}

}  // namespace berth::net::nl
