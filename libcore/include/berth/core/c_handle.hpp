// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

namespace berth::core {

/// Calls the C library's free function `Free` on a non-null pointer.
template <auto Free>
struct CDeleter {
  void operator()(auto* p) const noexcept {
    if (p) Free(p);
  }
};

/// A unique owner of a C object released by `Free`, e.g.
/// `CHandle<nl_sock, nl_socket_free>`.
template <class T, auto Free>
using CHandle = std::unique_ptr<T, CDeleter<Free>>;

}  // namespace berth::core
