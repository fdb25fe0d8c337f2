// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/api_error.hpp"

namespace berth::runtime::daemon {

using core::Errc;

ApiError api_error(const core::Error& error) {
  struct Mapping {
    Errc errc;
    int status;
    const char* code;
  };
  static constexpr Mapping kMappings[] = {
      {Errc::invalid_argument, 400, "invalid_argument"}, {Errc::not_found, 404, "not_found"},
      {Errc::already_exists, 409, "already_exists"},     {Errc::conflict, 409, "conflict"},
      {Errc::exhausted, 409, "exhausted"},               {Errc::timed_out, 500, "timed_out"},
  };
  for (const auto& m : kMappings)
    if (error.is(m.errc)) return {m.status, m.code, error.message()};
  return {500, "internal", error.message()};
}

core::http::Response json_response(int status, std::string body) {
  core::http::Response r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  r.body += '\n';
  return r;
}

core::http::Response error_response(const ApiError& error) {
  return core::http::error_response(error.status, error.code, error.message);
}

core::http::Response error_response(const core::Error& error) { return error_response(api_error(error)); }

}  // namespace berth::runtime::daemon
