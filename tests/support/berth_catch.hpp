// SPDX-License-Identifier: Apache-2.0
// Catch2 plus a printer for berth's Result, so a failed REQUIRE(result)
// shows the error line instead of failing to compile.
#pragma once

#include "berth/core/error.hpp"

#include <catch2/catch.hpp>

namespace Catch {
template <class T>
struct StringMaker<boost::system::result<T, berth::core::Error>> {
  static std::string convert(const boost::system::result<T, berth::core::Error>& r) {
    return r ? std::string("ok") : "error: " + r.error().message();
  }
};
}  // namespace Catch
