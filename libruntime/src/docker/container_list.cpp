// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/docker/engine.hpp"

#include <boost/json.hpp>

#include <cctype>

namespace berth::runtime::docker {
bool is_container_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

core::Result<std::vector<std::string>> parse_container_list(std::string_view body) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (ec || !doc.is_array()) return core::make_error(core::Errc::protocol, "list containers: not a JSON array");
  std::vector<std::string> ids;
  for (const auto& c : doc.as_array()) {
    const auto* o = c.if_object();
    const auto* id = o ? o->if_contains("Id") : nullptr;
    if (id && id->is_string() && is_container_id(id->as_string())) ids.emplace_back(id->as_string());
  }
  return ids;
}

}  // namespace berth::runtime::docker
