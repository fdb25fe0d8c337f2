// SPDX-License-Identifier: Apache-2.0
// GET /v1/containers and GET /v1/containers/{id}.
#include "berth/runtime/daemon/api_error.hpp"
#include "berth/runtime/daemon/routes.hpp"

#include <boost/json.hpp>

namespace berth::runtime::daemon {
namespace {

boost::json::object inspect(const container::ContainerState& s) {
  boost::json::object o{{"id", s.id},
                        {"image", s.image},
                        {"status", container::status_name(s.status)},
                        {"created", s.created},
                        {"stop_signal", s.stop_signal},
                        {"log", s.log.string()}};
  o["pid"] = s.pid ? boost::json::value(*s.pid) : boost::json::value(nullptr);
  o["exit_code"] = s.exit_code ? boost::json::value(*s.exit_code) : boost::json::value(nullptr);
  return o;
}

}  // namespace

void add_container_routes(Router& router, const container::Containers& containers) {
  const auto* cs = &containers;
  router.add("GET", "/v1/containers", [cs](ApiRequest req, std::shared_ptr<core::http::Reply> reply) {
    auto detail = req.flag("detail");
    if (!detail) return reply->send(error_response(detail.error()));
    auto all = cs->list();
    if (!all) return reply->send(error_response(all.error()));
    boost::json::array ids, items;
    for (const auto& s : *all) {
      ids.emplace_back(s.id);
      if (*detail) items.emplace_back(inspect(s));
    }
    boost::json::object out{{"containers", std::move(ids)}};
    if (*detail) out["items"] = std::move(items);
    reply->send(json_response(200, boost::json::serialize(out)));
  });
  router.add("GET", "/v1/containers/{id}", [cs](ApiRequest req, std::shared_ptr<core::http::Reply> reply) {
    auto s = cs->state(req.params.at("id"));
    if (!s) return reply->send(error_response(s.error()));
    reply->send(json_response(200, boost::json::serialize(inspect(*s))));
  });
}

}  // namespace berth::runtime::daemon
