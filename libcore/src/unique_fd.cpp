// SPDX-License-Identifier: Apache-2.0
#include "berth/core/unique_fd.hpp"

#include <unistd.h>

namespace berth::core {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);  // close(2) errors cannot be acted on here
  fd_ = fd;
}

}  // namespace berth::core
