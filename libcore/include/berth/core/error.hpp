// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <boost/system/result.hpp>

#include <iosfwd>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace berth::core {

/// berth's own error conditions. Their text is the error's context: an Error
/// with one of these codes reads as "<context>", where a system error reads
/// as "<context>: <strerror>".
enum class Errc {
  invalid_argument = 1,  ///< input that can never work (malformed, out of range)
  not_found,             ///< a named thing does not exist
  already_exists,        ///< a named thing exists and may not be replaced
  exhausted,             ///< a pool (addresses, ports) has nothing left
  conflict,              ///< the request collides with something already in place
  timed_out,             ///< an operation ran past its deadline
  corrupt,               ///< stored state cannot be read back
  protocol,              ///< a peer answered something we do not understand
  child_failed,          ///< a program we ran exited non-zero
  several,               ///< more than one step failed (see ErrorList); the context lists them
};

/// The category of `Errc`.
[[nodiscard]] const std::error_category& berth_category() noexcept;
[[nodiscard]] std::error_code make_error_code(Errc e) noexcept;

/// An error value: what failed (`code`) and where (`context`, outermost first).
/// Cheap to move; never thrown across a library API.
struct Error {
  std::error_code code;
  std::string context;
  int exit_code = 1;

  /// Prepends one layer of context: `wrap("setup network 'web'")` turns
  /// "create veth 'bv3f2a'" into "setup network 'web': create veth 'bv3f2a'".
  [[nodiscard]] Error wrap(std::string_view outer) &&;
  [[nodiscard]] Error wrap(std::string_view outer) const&;
  /// The whole line a user sees, e.g. "create bridge 'berth0': File exists".
  [[nodiscard]] std::string message() const;
  /// True when `code` is the given berth condition.
  [[nodiscard]] bool is(Errc e) const noexcept { return code == make_error_code(e); }
};

/// Prints `message()` (lets test frameworks show a failed Result).
std::ostream& operator<<(std::ostream& os, const Error& e);

template <class T>
using Result = boost::system::result<T, Error>;

/// Builds an Error from a berth condition.
[[nodiscard]] Error make_error(Errc e, std::string context);
/// Builds an Error from an errno value.
[[nodiscard]] Error errno_error(int err, std::string context);
/// Builds an Error from any error_code.
[[nodiscard]] Error make_error(std::error_code code, std::string context);

/// Lets `result.value()` work with berth's Error (it throws std::runtime_error with `message()`);
/// found by argument-dependent lookup from boost::system::result.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

}  // namespace berth::core

template <>
struct std::is_error_code_enum<berth::core::Errc> : std::true_type {};

/// Returns the error of a Result-producing expression from the enclosing
/// function, adding context; otherwise yields nothing. Usage:
///   BERTH_TRY(write_file(p, data), "write state");
#define BERTH_TRY(expr, ...)                                        \
  do {                                                              \
    if (auto berth_try_r_ = (expr); !berth_try_r_)                  \
      return std::move(berth_try_r_).error().wrap(__VA_ARGS__);     \
  } while (false)

/// Programming errors only (a broken invariant), never bad input.
#define BERTH_ASSERT(cond)                                                   \
  do {                                                                       \
    if (!(cond)) ::berth::core::assert_failed(#cond, __FILE__, __LINE__);    \
  } while (false)

namespace berth::core {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line) noexcept;
}
