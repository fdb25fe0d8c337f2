// SPDX-License-Identifier: Apache-2.0
// Comparing the kernel's copy of an owner's table with what it should hold.
#pragma once

#include "berth/core/error.hpp"
#include "firewall/expected_state.hpp"
#include "firewall/nft.hpp"

#include <string>
#include <vector>

namespace berth::net {

/// The differences in the table's fixed part: the table itself, its chains,
/// sets and base rules (in order). Zone rules are left to `table_diffs`.
[[nodiscard]] core::Result<std::vector<std::string>> structure_diffs(nft::Socket& sock, const std::string& table);

/// Every difference between the kernel's table and `expected`, each one a
/// sentence naming the chain or set ("set 'pm4any' holds 0 elements, 1
/// expected"); empty when they agree.
[[nodiscard]] core::Result<std::vector<std::string>> table_diffs(nft::Socket& sock, const std::string& table,
                                                                 const ExpectedState& expected);

/// True for the error of a table, chain, set or element that is not there.
[[nodiscard]] inline bool is_missing(const core::Error& e) { return e.code == std::errc::no_such_file_or_directory; }

}  // namespace berth::net
