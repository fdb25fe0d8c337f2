// SPDX-License-Identifier: Apache-2.0
#include "berth/instance/describe.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

namespace berth::instance {

namespace json = boost::json;

json::object describe(const InstanceEnv& env, const InstanceOptions* options, const InstanceStatus* status) {
  json::object o{{"prefix", env.prefix},
                 {"root", env.root.string()},
                 {"socket", layout_of(env).socket.string()},
                 {"bridge", env.bridge()},
                 {"bridge_cidr", env.bridge_cidr.to_string()},
                 {"fixed_cidr", env.fixed_cidr.to_string()},
                 {"pool_base", env.pool_base.to_string()},
                 {"pool_size", env.pool_size}};
  if (options) {
    o["systemd"] = options->systemd;
    o["firewall"] = firewall_name(options->firewall);
    o["sysbox"] = options->sysbox;
  }
  if (status) {
    o["state"] = status->state;
    o["pid"] = status->pid ? json::value(*status->pid) : json::value(nullptr);
    o["answers"] = status->answers;
  }
  return o;
}

json::object describe_problems(const InstanceEnv& env, const std::vector<std::string>& problems) {
  json::array a;
  for (const auto& p : problems) a.emplace_back(p);
  return json::object{{"prefix", env.prefix}, {"ok", problems.empty()}, {"problems", std::move(a)}};
}

int status_exit_code(const InstanceStatus& status) { return status.state == "active" && status.answers ? 0 : 3; }

}  // namespace berth::instance
