// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/http.hpp"

#include <string>
#include <string_view>

/// How berthd's control API answers a failure: a status and one JSON
/// document, `{"error":{"code":"not_found","message":"no container 'web'"}}`,
/// so a client prints the message and decides on the code, never on text.
namespace berth::runtime::daemon {

struct ApiError {
  int status = 500;
  std::string code;  ///< "invalid_argument", "not_found", "conflict", ..., "internal"
  std::string message;
};

/// The status and code of a library error: bad input 400, a missing thing
/// 404, a collision with what is there (exists, in use, running, pool
/// exhausted) 409, everything else 500.
[[nodiscard]] ApiError api_error(const core::Error& error);

/// The JSON error response (core::http::error_response, the server's own shape).
[[nodiscard]] core::http::Response error_response(const ApiError& error);
[[nodiscard]] core::http::Response error_response(const core::Error& error);

/// A JSON body (already serialised) with its Content-Type.
[[nodiscard]] core::http::Response json_response(int status, std::string body);

}  // namespace berth::runtime::daemon
