# SPDX-License-Identifier: Apache-2.0
# Warnings apply to berth's own targets only (PRIVATE), never to consumers.
function(berth_warnings target)
  # -Wno-missing-field-initializers: GCC 12 warns about members left out of a
  # designated initializer, which is exactly how berth's option structs are used.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Werror
                                           -Wno-missing-field-initializers)
endfunction()

# berth_library(NAME SOURCES...): the static library berth_NAME, exported and
# aliased as berth::NAME, with public headers in include/.
function(berth_library name)
  add_library(berth_${name} STATIC ${ARGN})
  add_library(berth::${name} ALIAS berth_${name})
  set_target_properties(berth_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME berth_${name})
  target_include_directories(berth_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:include>)
  berth_warnings(berth_${name})
endfunction()
