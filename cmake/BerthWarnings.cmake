# SPDX-License-Identifier: Apache-2.0
# Warnings apply to berth's own targets only (PRIVATE), never to consumers.
function(berth_warnings target)
  # -Wno-missing-field-initializers: GCC 12 warns about members left out of a
  # designated initializer, which is exactly how berth's option structs are used.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Werror
                                           -Wno-missing-field-initializers)
endfunction()
