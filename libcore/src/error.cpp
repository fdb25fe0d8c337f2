// SPDX-License-Identifier: Apache-2.0
#include "berth/core/error.hpp"

#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <stdexcept>
#include <system_error>

namespace berth::core {
namespace {

class BerthCategory final : public std::error_category {
public:
  const char* name() const noexcept override { return "berth"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::invalid_argument: return "invalid argument";
      case Errc::not_found: return "not found";
      case Errc::already_exists: return "already exists";
      case Errc::exhausted: return "exhausted";
      case Errc::conflict: return "conflict";
      case Errc::timed_out: return "timed out";
      case Errc::corrupt: return "corrupt state";
      case Errc::protocol: return "protocol error";
      case Errc::child_failed: return "program failed";
      case Errc::several: return "several failures";
    }
    return "unknown berth error";
  }
};

std::string join(std::string_view outer, const std::string& inner) {
  if (inner.empty()) return std::string(outer);
  if (outer.empty()) return inner;
  std::string s;
  s.reserve(outer.size() + 2 + inner.size());
  s.append(outer).append(": ").append(inner);
  return s;
}

}  // namespace

const std::error_category& berth_category() noexcept {
  static const BerthCategory category;
  return category;
}

std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), berth_category()}; }

Error Error::wrap(std::string_view outer) && {
  context = join(outer, context);
  return std::move(*this);
}

Error Error::wrap(std::string_view outer) const& {
  Error copy = *this;
  return std::move(copy).wrap(outer);
}

std::string Error::message() const {
  // berth's own conditions are described by the context itself; a system
  // error adds the kernel's words ("File exists") after it.
  if (!code || (&code.category() == &berth_category() && !context.empty())) return context;
  return join(context, code.message());
}

Error make_error(Errc e, std::string context) { return Error{make_error_code(e), std::move(context)}; }

Error errno_error(int err, std::string context) {
  return Error{std::error_code(err, std::generic_category()), std::move(context)};
}

Error make_error(std::error_code code, std::string context) { return Error{code, std::move(context)}; }

std::ostream& operator<<(std::ostream& os, const Error& e) { return os << e.message(); }

void throw_exception_from_error(const Error& e, const boost::source_location&) {
  // runtime_error, not system_error: system_error would append the code's
  // text a second time.
  throw std::runtime_error(e.message());
}

void assert_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "berth: assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace berth::core
