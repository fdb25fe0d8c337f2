// SPDX-License-Identifier: Apache-2.0
// libnl-route plumbing shared by libnet's sources. C headers stay here.
#pragma once

#include "berth/core/c_handle.hpp"
#include "berth/core/error.hpp"

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

namespace berth::net::nl {

using Sock = core::CHandle<nl_sock, nl_socket_free>;
using Msg = core::CHandle<nl_msg, nlmsg_free>;
using Link = core::CHandle<rtnl_link, rtnl_link_put>;
using VethLink = core::CHandle<rtnl_link, rtnl_link_veth_release>;
using Addr = core::CHandle<rtnl_addr, rtnl_addr_put>;
using NlAddr = core::CHandle<nl_addr, nl_addr_put>;
using Route = core::CHandle<rtnl_route, rtnl_route_put>;
using Cache = core::CHandle<nl_cache, nl_cache_free>;
using Cb = core::CHandle<nl_cb, nl_cb_put>;

/// Opens an rtnetlink socket in the calling thread's namespace.
core::Result<Sock> connect_route();

/// Sends `msg` and waits for the kernel's answer. Unlike libnl's own
/// rtnl_*_add helpers, the error keeps the kernel's errno ("Network is
/// unreachable"), which libnl would fold into "Unspecific failure".
core::Result<void> transact(nl_sock* sk, Msg msg);

/// Turns a negative libnl return code into an Error with context.
core::Error from_nl(int nl_error, std::string context);

}  // namespace berth::net::nl
