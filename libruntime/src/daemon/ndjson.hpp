// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/daemon/api_error.hpp"
#include "berth/runtime/daemon/workloads.hpp"

#include <boost/json.hpp>

#include <string>

/// The NDJSON lines of the API's streamed answers (a pull's and a run's events).
namespace berth::runtime::daemon {

inline std::string ndjson(const boost::json::object& o) { return boost::json::serialize(o) + "\n"; }

/// {"phase", "message", "digest", "current", "total"}: what is set of them.
inline boost::json::object event_json(const RunEvent& e) {
  boost::json::object o{{"phase", e.phase}};
  if (!e.message.empty()) o["message"] = e.message;
  if (!e.digest.empty()) o["digest"] = e.digest;
  if (e.total) {
    o["current"] = e.current;
    o["total"] = e.total;
  }
  return o;
}

/// The line that ends a failed stream: {"phase":"error","error":{code, message}}.
inline std::string error_line(const core::Error& error) {
  auto e = api_error(error);
  return ndjson({{"phase", "error"}, {"error", {{"code", e.code}, {"message", e.message}}}});
}

}  // namespace berth::runtime::daemon
