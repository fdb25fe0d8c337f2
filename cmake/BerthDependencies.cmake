# SPDX-License-Identifier: Apache-2.0
# Every dependency comes from a Debian 12 package (see scripts/install-deps.sh).
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS json program_options)
find_package(fmt REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBNL       REQUIRED IMPORTED_TARGET libnl-3.0)
pkg_check_modules(LIBNL_ROUTE REQUIRED IMPORTED_TARGET libnl-route-3.0)
pkg_check_modules(LIBNFTNL    REQUIRED IMPORTED_TARGET libnftnl)
pkg_check_modules(LIBMNL      REQUIRED IMPORTED_TARGET libmnl)
# libruntime: images (libarchive unpacks layers, OpenSSL hashes them) and registries (libcurl).
pkg_check_modules(LIBARCHIVE  REQUIRED IMPORTED_TARGET libarchive)
find_package(OpenSSL REQUIRED)
find_package(CURL REQUIRED)
