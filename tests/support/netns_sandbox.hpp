// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace berth::test {

/// The exit code ctest reads as "skipped" (SKIP_RETURN_CODE).
inline constexpr int kSkip = 77;

/// Moves this process (still single-threaded) into a fresh network namespace
/// and a private mount namespace with its own tmpfs on /run/netns, then brings
/// up lo. Nothing the test does afterwards is visible outside, and everything
/// disappears when the process exits. Returns 0, kSkip when the machine does
/// not allow it (not root), or 1 on a real failure (with a message on stderr).
int enter_sandbox();

}  // namespace berth::test
