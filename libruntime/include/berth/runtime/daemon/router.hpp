// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/http.hpp"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

/// berthd's control API routes: a method and a path pattern
/// ("/v1/containers/{id}/logs") to a handler, with the path's parameters
/// and the query decoded. What matches no route is answered here, as JSON:
/// an unknown path 404, a known path asked with another method 405 (with
/// Allow), a target that cannot be decoded 400.
namespace berth::runtime::daemon {

struct ApiRequest {
  core::http::Request http;
  std::map<std::string, std::string> params;  ///< "{id}" -> "web", percent-decoded
  std::map<std::string, std::string> query;   ///< "tail=10&follow=1", percent-decoded; a repeated key keeps its last value

  /// A query flag: absent → `fallback`; "1", "true", "yes" or "" → true;
  /// "0", "false", "no" → false; anything else is `Errc::invalid_argument`.
  [[nodiscard]] core::Result<bool> flag(const std::string& key, bool fallback = false) const;
};

using RouteHandler = std::function<void(ApiRequest request, std::shared_ptr<core::http::Reply> reply)>;

class Router {
public:
  /// `pattern` is a path of literal segments and "{name}" segments, each
  /// of which matches one non-empty segment.
  void add(std::string method, std::string_view pattern, RouteHandler handler);

  /// Hands the request to its route, or answers it (404, 405, 400).
  void dispatch(core::http::Request request, std::shared_ptr<core::http::Reply> reply) const;

  /// Every route as "GET /v1/containers/{id}", in the order added (for the
  /// test that holds the OpenAPI file to what is served).
  [[nodiscard]] std::vector<std::string> routes() const;

private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  ///< "{id}" for a parameter
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

/// Decodes %XX escapes ('+' stays '+': paths and berth's clients escape
/// spaces as %20); a bad escape or a decoded NUL is an error.
[[nodiscard]] core::Result<std::string> percent_decode(std::string_view text);

/// "a=1&b=x%20y" -> {a: 1, b: "x y"}; a key without '=' has the value "".
[[nodiscard]] core::Result<std::map<std::string, std::string>> parse_query(std::string_view query);

}  // namespace berth::runtime::daemon
