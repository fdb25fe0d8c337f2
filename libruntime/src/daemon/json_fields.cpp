// SPDX-License-Identifier: Apache-2.0
#include "json_fields.hpp"

#include <fmt/format.h>

namespace berth::runtime::daemon {

using core::Errc;
using core::make_error;
using core::Result;
namespace json = boost::json;

Result<json::object> JsonFields::parse_body(std::string_view body, bool empty_ok) {
  if (empty_ok && body.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return make_error(Errc::invalid_argument, fmt::format("the request body is not JSON: {}", ec.message()));
  if (!v.is_object()) return make_error(Errc::invalid_argument, "the request body must be a JSON object");
  return std::move(v.get_object());
}

std::string JsonFields::name(std::string_view key) const {
  return where_.empty() ? std::string(key) : fmt::format("{}.{}", where_, key);
}

core::Error JsonFields::bad(std::string_view key, std::string_view why) const {
  return make_error(Errc::invalid_argument, fmt::format("field '{}' {}", name(key), why));
}

const json::value* JsonFields::take(std::string_view key) {
  const json::value* v = o_->if_contains(key);
  taken_.emplace(key);
  return v && !v->is_null() ? v : nullptr;
}

Result<std::optional<std::string>> JsonFields::string(std::string_view key) {
  const auto* v = take(key);
  if (!v) return std::optional<std::string>{};
  if (!v->is_string()) return bad(key, "must be a string");
  const auto& s = v->get_string();
  if (s.find('\0') != json::string::npos) return bad(key, "holds a NUL character");
  return std::optional<std::string>(std::string(s));
}

Result<std::optional<bool>> JsonFields::boolean(std::string_view key) {
  const auto* v = take(key);
  if (!v) return std::optional<bool>{};
  if (!v->is_bool()) return bad(key, "must be true or false");
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<std::int64_t>> JsonFields::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  const auto* v = take(key);
  if (!v) return std::optional<std::int64_t>{};
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(max)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else if (v->is_uint64()) {
    return bad(key, fmt::format("must be at most {}", max));
  } else {
    return bad(key, "must be an integer");
  }
  if (n < min || n > max) return bad(key, fmt::format("must be from {} to {}", min, max));
  return std::optional<std::int64_t>(n);
}

Result<std::optional<double>> JsonFields::number(std::string_view key) {
  const auto* v = take(key);
  if (!v) return std::optional<double>{};
  if (!v->is_number()) return bad(key, "must be a number");
  return std::optional<double>(v->to_number<double>());
}

Result<std::vector<std::string>> JsonFields::strings(std::string_view key) {
  std::vector<std::string> out;
  const auto* v = take(key);
  if (!v) return out;
  const auto* a = v->if_array();
  if (!a) return bad(key, "must be an array of strings");
  for (const auto& x : *a) {
    if (!x.is_string()) return bad(key, "must be an array of strings");
    if (x.get_string().find('\0') != json::string::npos) return bad(key, "holds a NUL character");
    out.emplace_back(x.get_string());
  }
  return out;
}

Result<const json::array*> JsonFields::array(std::string_view key) {
  const auto* v = take(key);
  if (!v) return static_cast<const json::array*>(nullptr);
  if (!v->is_array()) return bad(key, "must be an array");
  return &v->get_array();
}

Result<const json::object*> JsonFields::object(std::string_view key) {
  const auto* v = take(key);
  if (!v) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return bad(key, "must be an object");
  return &v->get_object();
}

Result<void> JsonFields::finish() const {
  for (const auto& [k, v] : *o_) {
    (void)v;
    if (!taken_.contains(std::string_view(k)))
      return make_error(Errc::invalid_argument, fmt::format("unknown field '{}'", name(std::string_view(k))));
  }
  return {};
}

}  // namespace berth::runtime::daemon
