// SPDX-License-Identifier: Apache-2.0
// Docker's --env-file as berthctl reads it: every variable it yields is
// KEY=VALUE with a key free of whitespace, or the file is refused.
#include "berth/runtime/daemon/client.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto env = berth::runtime::daemon::parse_env_file(
      text, [](const std::string& key) -> std::optional<std::string> { return key.size() % 2 ? std::optional<std::string>("v") : std::nullopt; });
  if (env)
    for (const auto& e : *env) {
      const auto eq = e.find('=');
      if (eq == std::string::npos || eq == 0 || e.substr(0, eq).find_first_of(" \t") != std::string::npos) __builtin_trap();
    }
  return 0;
}
