// SPDX-License-Identifier: Apache-2.0
// berth-cni's network configuration arrives on stdin from a CNI runtime.
#include "berth/net/cni/cni_plugin.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)berth::net::cni::parse_plugin_config(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
