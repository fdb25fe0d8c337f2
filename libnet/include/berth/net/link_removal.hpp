// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <chrono>
#include <string_view>

namespace berth::net {

/// Deletes the link `name` of the calling thread's network namespace and
/// returns as soon as the kernel has unregistered it: it is gone from the
/// namespace, from its bridge and from every listing. The rest of the
/// kernel's work, waiting for RCU callbacks before it frees the device
/// (~20 ms for a veth, most of a container's detach), is left to a detached
/// child process that sent the request and holds none of the caller's
/// descriptors. For a process that exits right after, such as a CNI
/// plugin's DEL: a thread would keep it alive through that wait, and a
/// runtime reading its output would wait too.
/// Returns false when there was no such link. Safe to call from a
/// multi-threaded process: the child makes only async-signal-safe calls.
[[nodiscard]] core::Result<bool> remove_link_detached(std::string_view name,
                                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace berth::net
