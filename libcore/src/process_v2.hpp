// SPDX-License-Identifier: Apache-2.0
// The only way into Boost.Process v2: its 1.81 headers do not compile with
// BOOST_PROCESS_USE_STD_FS unless these come first (DEPENDENCIES.md, pitfall 2).
#pragma once

#ifndef BOOST_PROCESS_USE_STD_FS
#define BOOST_PROCESS_USE_STD_FS 1
#endif

#include <boost/optional.hpp>
#include <boost/type_traits/remove_pointer.hpp>
#include <type_traits>

#include <boost/process/v2.hpp>
