// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

/// Strict reading of a JSON request body (the API's untrusted input): each
/// getter checks the field's type and names the field in its error, and
/// finish() refuses any field nobody asked for, so a misspelt option is an
/// error instead of being ignored. Boost.JSON parses; this only checks shapes.
namespace berth::runtime::daemon {

class JsonFields {
public:
  /// `where` prefixes field names in errors ("healthcheck.interval").
  JsonFields(const boost::json::object& object, std::string where = {}) : o_(&object), where_(std::move(where)) {}

  /// Parses a whole body that must be one JSON object ("" is `{}` when `empty_ok`).
  [[nodiscard]] static core::Result<boost::json::object> parse_body(std::string_view body, bool empty_ok = false);

  [[nodiscard]] core::Result<std::optional<std::string>> string(std::string_view key);
  [[nodiscard]] core::Result<std::optional<bool>> boolean(std::string_view key);
  [[nodiscard]] core::Result<std::optional<std::int64_t>> integer(std::string_view key, std::int64_t min,
                                                                  std::int64_t max);
  [[nodiscard]] core::Result<std::optional<double>> number(std::string_view key);
  [[nodiscard]] core::Result<std::vector<std::string>> strings(std::string_view key);
  /// A field that holds an array (of anything); null when absent.
  [[nodiscard]] core::Result<const boost::json::array*> array(std::string_view key);
  /// A field that holds an object; null when absent.
  [[nodiscard]] core::Result<const boost::json::object*> object(std::string_view key);
  /// An error for the first field that no getter took.
  [[nodiscard]] core::Result<void> finish() const;

  [[nodiscard]] std::string name(std::string_view key) const;
  [[nodiscard]] core::Error bad(std::string_view key, std::string_view why) const;

private:
  const boost::json::value* take(std::string_view key);
  const boost::json::object* o_;
  std::string where_;
  std::set<std::string, std::less<>> taken_;
};

}  // namespace berth::runtime::daemon
