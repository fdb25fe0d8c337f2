// SPDX-License-Identifier: Apache-2.0
#include "environment.hpp"

#include <string_view>

extern char** environ;

namespace berth::cli {

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (auto eq = kv.find('='); eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

}  // namespace berth::cli
