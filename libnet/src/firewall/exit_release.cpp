// SPDX-License-Identifier: Apache-2.0
#include "berth/core/detach.hpp"
#include "berth/net/firewall/firewall.hpp"

namespace berth::net {

bool release_after_exit(const std::map<std::string, std::string>& environment) {
  return !environment.contains("INVOCATION_ID");
}

core::Result<void> remove_before_exit(Firewall& firewall, const std::map<std::string, std::string>& environment) {
  BERTH_TRY(firewall.remove(), "");
  if (release_after_exit(environment)) (void)core::release_descriptors_after_exit();
  return {};
}

}  // namespace berth::net
