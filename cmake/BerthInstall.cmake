# SPDX-License-Identifier: Apache-2.0
# `cmake --install` exports the static libraries as a CMake package:
#   find_package(berth REQUIRED)  ->  berth::core, berth::net, berth::runtime, berth::instance
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS berth_core berth_net berth_runtime berth_instance
        EXPORT berthTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY libcore/include/berth libnet/include/berth libruntime/include/berth libinstance/include/berth
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(BERTH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/berth)
install(EXPORT berthTargets NAMESPACE berth:: DESTINATION ${BERTH_CMAKE_DIR})
configure_package_config_file(cmake/berthConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/berthConfig.cmake
  INSTALL_DESTINATION ${BERTH_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/berthConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/berthConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/berthConfigVersion.cmake
        DESTINATION ${BERTH_CMAKE_DIR})
