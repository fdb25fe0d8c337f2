// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/selection.hpp"

#include "berth/core/fs.hpp"

#include <fmt/format.h>

namespace berth::instance {

core::Result<InstanceRecord> select_instance(const Inventory& inventory, const std::optional<std::string>& prefix,
                                             const std::optional<std::filesystem::path>& env_file, bool must_exist) {
  if (prefix && env_file)
    return core::make_error(core::Errc::invalid_argument, "give a PREFIX or --env FILE, not both");
  if (prefix) {
    BERTH_TRY(validate_prefix(*prefix), "");
    auto found = inventory.load(*prefix);
    if (!found) return std::move(found).error();
    if (!*found)
      return core::make_error(core::Errc::not_found,
                              fmt::format("no instance with prefix {} (see dockyard list)", *prefix));
    return std::move(**found);
  }
  const std::string path = env_file.value_or("dockyard.env").string();
  auto text = core::read_file(path);
  if (!text) return std::move(text).error().wrap("env file " + path);
  auto env = parse_env(*text);
  if (!env) return std::move(env).error().wrap(path);
  auto found = inventory.load(env->prefix);
  if (!found) return std::move(found).error();
  if (*found) {
    if ((*found)->env != *env)
      return core::make_error(core::Errc::conflict, fmt::format("{} does not match the instance {} at {}", path,
                                                                env->prefix, (*found)->env.root.string()));
    return std::move(**found);
  }
  if (must_exist)
    return core::make_error(core::Errc::not_found, fmt::format("instance {} from {} is not created", env->prefix, path));
  return InstanceRecord{*env, {}};
}

}  // namespace berth::instance
