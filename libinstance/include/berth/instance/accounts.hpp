// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <optional>
#include <string>

#include <sys/types.h>

/// The system user and group of an instance (`<prefix>docker`), made and
/// removed with the shadow tools (groupadd, useradd, userdel, groupdel) so
/// /etc/passwd, /etc/group and their shadows are edited under their locks.
namespace berth::instance {

/// The group's id, or nullopt when there is no such group.
[[nodiscard]] std::optional<gid_t> group_id(const std::string& name);
/// True when a user of that name exists.
[[nodiscard]] bool user_exists(const std::string& name);

/// Creates the system group and a system user of the same name (no home, no
/// login shell) in it; whatever already exists is kept.
[[nodiscard]] core::Result<void> ensure_system_account(const std::string& name);
/// Removes the user and the group; whatever is already gone is fine.
[[nodiscard]] core::Result<void> remove_system_account(const std::string& name);

}  // namespace berth::instance
