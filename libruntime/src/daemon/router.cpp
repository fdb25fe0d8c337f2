// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/router.hpp"

#include "berth/runtime/daemon/api_error.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace berth::runtime::daemon {

using core::Errc;
using core::make_error;

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0; start < path.size();) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

core::Result<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\0') return make_error(Errc::invalid_argument, "a NUL character is not allowed");
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const bool whole = i + 2 < text.size();  // '%' and two hex digits
    const int hi = whole ? hex(text[i + 1]) : -1;
    const int lo = whole ? hex(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) return make_error(Errc::invalid_argument, fmt::format("bad percent escape at offset {}", i));
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return make_error(Errc::invalid_argument, "a NUL character (%00) is not allowed");
    out += c;
    i += 2;
  }
  return out;
}

core::Result<std::map<std::string, std::string>> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  for (std::size_t start = 0; start <= query.size() && !query.empty();) {
    auto amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const auto pair = query.substr(start, amp - start);
    start = amp + 1;
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    if (!key) return std::move(key).error().wrap("query");
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value) return std::move(value).error().wrap(fmt::format("query parameter '{}'", *key));
    if (key->empty()) return make_error(Errc::invalid_argument, "query: a parameter without a name");
    out[std::move(*key)] = std::move(*value);
  }
  return out;
}

core::Result<bool> ApiRequest::flag(const std::string& key, bool fallback) const {
  auto it = query.find(key);
  if (it == query.end()) return fallback;
  const auto& v = it->second;
  if (v.empty() || v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no") return false;
  return make_error(Errc::invalid_argument, fmt::format("query parameter '{}': '{}' is not a yes or no (1, 0, true, false)", key, v));
}

void Router::add(std::string method, std::string_view pattern, RouteHandler handler) {
  std::vector<std::string> segments;
  for (auto s : split_path(pattern)) segments.emplace_back(s);
  routes_.push_back({std::move(method), std::move(segments), std::move(handler)});
}

std::vector<std::string> Router::routes() const {
  std::vector<std::string> out;
  for (const auto& r : routes_) out.push_back(fmt::format("{} /{}", r.method, fmt::join(r.segments, "/")));
  return out;
}

void Router::dispatch(core::http::Request request, std::shared_ptr<core::http::Reply> reply) const {
  const std::string_view target = request.target;
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  auto query = parse_query(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
  if (!query) return reply->send(core::http::error_response(400, "invalid_argument", query.error().message()));
  const auto parts = split_path(path);
  std::vector<std::string> decoded;
  for (auto p : parts) {
    auto d = percent_decode(p);
    if (!d) return reply->send(core::http::error_response(400, "invalid_argument", std::move(d).error().wrap("path").message()));
    decoded.push_back(std::move(*d));
  }
  std::vector<std::string> allowed;  // methods of the routes the path matches
  for (const auto& route : routes_) {
    if (route.segments.size() != decoded.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (std::size_t i = 0; i < decoded.size() && match; ++i) {
      const auto& s = route.segments[i];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') params[s.substr(1, s.size() - 2)] = decoded[i];
      else match = s == decoded[i];
    }
    if (!match) continue;
    if (route.method != request.method) {
      if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) allowed.push_back(route.method);
      continue;
    }
    return route.handler(ApiRequest{std::move(request), std::move(params), std::move(*query)}, std::move(reply));
  }
  if (!allowed.empty()) {
    const std::string methods = fmt::format("{}", fmt::join(allowed, ", "));
    auto r = core::http::error_response(405, "method_not_allowed",
                            fmt::format("{} is not allowed on {} (allowed: {})", request.method, path, methods));
    r.headers.emplace_back("Allow", methods);
    return reply->send(std::move(r));
  }
  reply->send(core::http::error_response(404, "not_found", fmt::format("no such endpoint: {} {}", request.method, path)));
}

}  // namespace berth::runtime::daemon
