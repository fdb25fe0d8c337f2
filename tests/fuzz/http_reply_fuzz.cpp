// SPDX-License-Identifier: Apache-2.0
// A daemon's reply read from a unix socket (dockerd's, berthd's): the HTTP
// framing, then the JSON of a Docker container list.
#include "berth/core/http.hpp"
#include "berth/runtime/docker/engine.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  if (auto reply = berth::core::http::parse_response(raw, 1 << 20)) {
    if (reply->status < 100 || reply->status > 999 || reply->body.size() > raw.size()) __builtin_trap();
    if (auto ids = berth::runtime::docker::parse_container_list(reply->body))
      for (const auto& id : *ids)
        if (!berth::runtime::docker::is_container_id(id)) __builtin_trap();
  }
  (void)berth::runtime::docker::parse_container_list(raw);
  return 0;
}
