// SPDX-License-Identifier: Apache-2.0
// The body of POST /v1/containers/run, and the workload record that keeps
// its spec: refused or read, never a crash; a spec that is read comes back
// the same from the JSON the daemon writes for it.
#include "berth/runtime/daemon/run_request.hpp"
#include "berth/runtime/daemon/workload.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto r = berth::runtime::daemon::parse_run_request(text)) {
    auto back = berth::runtime::daemon::parse_run_request(berth::runtime::daemon::spec_to_json(r->spec));
    if (!back || !(back->spec == r->spec)) __builtin_trap();
  }
  if (auto rec = berth::runtime::daemon::record_from_json(text)) {
    auto back = berth::runtime::daemon::record_from_json(berth::runtime::daemon::record_to_json(*rec));
    if (!back || !(*back == *rec)) __builtin_trap();
  }
  (void)berth::runtime::daemon::parse_duration(text);
  (void)berth::runtime::daemon::parse_volume(text);
  (void)berth::runtime::daemon::parse_restart_policy(text);
  return 0;
}
