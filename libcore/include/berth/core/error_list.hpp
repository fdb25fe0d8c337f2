// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <string_view>
#include <vector>

namespace berth::core {

/// The errors of an operation that goes on past failures (a teardown, a
/// destroy) and reports all of them at the end. Not thread-safe.
class ErrorList {
public:
  /// Keeps the error of `r`, if it has one.
  template <class T>
  void add_if(const Result<T>& r) {
    if (!r) errors_.push_back(r.error());
  }
  void add(Error e) { errors_.push_back(std::move(e)); }

  [[nodiscard]] bool empty() const noexcept { return errors_.empty(); }
  [[nodiscard]] const std::vector<Error>& errors() const noexcept { return errors_; }

  /// Nothing when no step failed. One failure comes back as it was, with
  /// `what` in front; several as one `Errc::several` error reading
  /// "<what>: <first>; <second>; ...", with the first one's exit code.
  [[nodiscard]] Result<void> result(std::string_view what) const;

private:
  std::vector<Error> errors_;
};

}  // namespace berth::core
