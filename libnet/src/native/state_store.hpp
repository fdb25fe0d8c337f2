// SPDX-License-Identifier: Apache-2.0
// The native backend's records on disk: one JSON file per network and one per
// attached container, written atomically, so any process (the daemon, a CNI
// plugin invocation) can rebuild the expected firewall state from them.
#pragma once

#include "berth/core/error.hpp"
#include "berth/net/backend.hpp"
#include "berth/net/native/native_backend.hpp"

#include <filesystem>
#include <optional>
#include <vector>

namespace berth::net::state {

/// <dir>/networks/<name>.json
[[nodiscard]] core::Result<void> save_network(const std::filesystem::path& dir, const NetworkOptions& n);
[[nodiscard]] core::Result<std::vector<NetworkOptions>> load_networks(const std::filesystem::path& dir);
[[nodiscard]] core::Result<void> remove_network(const std::filesystem::path& dir, std::string_view name);

/// <dir>/containers/<network>/<id>.json
[[nodiscard]] core::Result<void> save_attachment(const std::filesystem::path& dir, const Attachment& a);
[[nodiscard]] core::Result<std::optional<Attachment>> load_attachment(const std::filesystem::path& dir,
                                                                      std::string_view network,
                                                                      std::string_view container_id);
[[nodiscard]] core::Result<std::vector<Attachment>> load_attachments(const std::filesystem::path& dir,
                                                                     std::string_view network);
[[nodiscard]] core::Result<void> remove_attachment(const std::filesystem::path& dir, std::string_view network,
                                                   std::string_view container_id);

}  // namespace berth::net::state
