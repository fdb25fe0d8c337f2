// SPDX-License-Identifier: Apache-2.0
// GET /v1/images.
#include "berth/runtime/daemon/api_error.hpp"
#include "berth/runtime/daemon/routes.hpp"

#include <boost/json.hpp>

namespace berth::runtime::daemon {

void add_image_routes(Router& router, const image::Store& images) {
  router.add("GET", "/v1/images", [images](ApiRequest, std::shared_ptr<core::http::Reply> reply) {
    auto all = images.images();
    if (!all) return reply->send(error_response(std::move(all).error().wrap("list images")));
    boost::json::array names, items;
    for (const auto& i : *all) {
      names.emplace_back(i.name);
      items.push_back(boost::json::object{{"name", i.name}, {"digest", i.manifest.digest}, {"size", i.manifest.size}});
    }
    reply->send(json_response(200, boost::json::serialize(boost::json::object{{"images", std::move(names)}, {"items", std::move(items)}})));
  });
}

}  // namespace berth::runtime::daemon
