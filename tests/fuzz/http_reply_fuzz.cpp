// SPDX-License-Identifier: Apache-2.0
// A Docker API reply read from a socket: the HTTP framing, then the JSON of
// a container list.
#include "berth/instance/docker_api.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  if (auto reply = berth::instance::parse_http_reply(raw)) {
    if (reply->status < 100 || reply->status > 599 || reply->body.size() > raw.size()) __builtin_trap();
    (void)berth::instance::parse_container_list(reply->body);
  }
  (void)berth::instance::parse_container_list(raw);
  return 0;
}
