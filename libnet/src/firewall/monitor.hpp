// SPDX-License-Identifier: Apache-2.0
// Watching nf_tables for another process's changes to an owner's table.
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/unique_fd.hpp"
#include "firewall/nft.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>

namespace berth::net {

/// Reads one batch of nf_tables event messages (as one recv returns them).
/// `touched` carries over between batches: set by a message about `table`,
/// cleared by the end of a transaction (NEWGEN). Returns true when a
/// transaction that touched `table` was committed by a process other than
/// `self_pid`. Untrusted bytes are read within their lengths only.
[[nodiscard]] bool scan_events(std::span<const char> messages, std::string_view table, std::uint32_t self_pid,
                               bool& touched);

/// A thread that reads the nf_tables event socket it is given and calls
/// `on_foreign_change` (after letting a burst of commits settle) whenever a
/// transaction of another process changed `table`, or events were lost. The
/// callback runs on the monitor's thread. Destroying it stops and joins it.
class TableMonitor {
public:
  [[nodiscard]] static core::Result<std::unique_ptr<TableMonitor>> start(nft::Socket events, std::string table,
                                                                         std::function<void()> on_foreign_change);
  TableMonitor(const TableMonitor&) = delete;
  TableMonitor& operator=(const TableMonitor&) = delete;
  ~TableMonitor();

private:
  TableMonitor(nft::Socket events, std::string table, std::function<void()> on_change, core::UniqueFd stop);
  void run();

  nft::Socket events_;
  std::string table_;
  std::function<void()> on_change_;
  core::UniqueFd stop_;
  std::thread thread_;
};

}  // namespace berth::net
