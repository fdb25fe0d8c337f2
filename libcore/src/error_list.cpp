// SPDX-License-Identifier: Apache-2.0
#include "berth/core/error_list.hpp"

namespace berth::core {

Result<void> ErrorList::result(std::string_view what) const {
  if (errors_.empty()) return {};
  if (errors_.size() == 1) return errors_.front().wrap(what);
  std::string joined;
  for (const auto& e : errors_) joined += (joined.empty() ? "" : "; ") + e.message();
  // Each message already ends with its own system words, so the joined
  // error carries a condition of berth's, which adds none.
  Error e = make_error(Errc::several, std::move(joined)).wrap(what);
  e.exit_code = errors_.front().exit_code;
  return e;
}

}  // namespace berth::core
