// SPDX-License-Identifier: Apache-2.0
// /v1/images: list, pull, remove, prune, load.
#include "berth/runtime/daemon/api_error.hpp"
#include "berth/runtime/daemon/routes.hpp"
#include "berth/runtime/image/install.hpp"
#include "berth/runtime/image/load.hpp"
#include "json_fields.hpp"
#include "ndjson.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace berth::runtime::daemon {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;
using Reply = std::shared_ptr<core::http::Reply>;

/// A body's fields as `read` takes them, then finish(); the first bad one answered 400.
template <class Read>
bool read_body(const ApiRequest& req, const Reply& reply, bool empty_ok, Read read) {
  auto body = JsonFields::parse_body(req.http.body, empty_ok);
  if (!body) {
    reply->send(error_response(body.error()));
    return false;
  }
  JsonFields f(*body);
  if (auto r = read(f); !r) {
    reply->send(error_response(r.error()));
    return false;
  }
  if (auto r = f.finish(); !r) {
    reply->send(error_response(r.error()));
    return false;
  }
  return true;
}

core::Result<void> required(JsonFields& f, std::string_view key, std::string& out) {
  auto v = f.string(key);
  if (!v) return v.error();
  if (!*v || (*v)->empty()) return f.bad(key, "is required");
  out = **v;
  return {};
}

}  // namespace

void add_image_routes(Router& router, std::shared_ptr<Workloads> workloads, Post post) {
  // The daemon's workers end before its workloads: a plain pointer is enough here.
  Workloads* w = workloads.get();
  router.add("GET", "/v1/images", [w](ApiRequest, Reply reply) {
    auto all = w->images().images();
    if (!all) return reply->send(error_response(std::move(all).error().wrap("list images")));
    json::array names, items;
    for (const auto& i : *all) {
      names.emplace_back(i.name);
      // Its size as `docker images` shows it: the compressed layers it is made of.
      std::int64_t size = i.manifest.size;
      if (auto text = w->images().read_blob(i.manifest.digest))
        if (auto plan = image::plan_image(w->images(), i.manifest, *text))
          for (const auto& l : plan->layers) size += l.blob.size;
      items.push_back(json::object{{"name", i.name}, {"digest", i.manifest.digest}, {"size", size}});
    }
    reply->send(json_response(200, json::serialize(json::object{{"images", std::move(names)}, {"items", std::move(items)}})));
  });
  router.add("POST", "/v1/images/pull", [w, post](ApiRequest req, Reply reply) {
    std::string ref;
    bool stream = false;
    if (!read_body(req, reply, false, [&](JsonFields& f) -> core::Result<void> {
          if (auto r = required(f, "ref", ref); !r) return r;
          auto s = f.boolean("stream");
          if (!s) return s.error();
          stream = s->value_or(false);
          return {};
        }))
      return;
    post([w, reply, ref, stream] {
      if (!stream) {
        auto img = w->pull(ref, {});
        if (!img) return reply->send(error_response(img.error()));
        return reply->send(json_response(
            200, json::serialize(json::object{{"ok", true}, {"ref", img->name}, {"digest", img->manifest.digest}})));
      }
      reply->start_stream(200, {{"Content-Type", "application/x-ndjson"}});
      auto img = w->pull(ref, [&reply](const RunEvent& e) { reply->write(ndjson(event_json(e))); });
      if (img)
        reply->write(ndjson({{"phase", "done"}, {"ok", true}, {"ref", img->name}, {"digest", img->manifest.digest}}));
      else
        reply->write(error_line(img.error()));
      reply->finish();
    });
  });
  router.add("POST", "/v1/images/remove", [w, post](ApiRequest req, Reply reply) {
    std::string ref;
    bool force = false;
    if (!read_body(req, reply, false, [&](JsonFields& f) -> core::Result<void> {
          if (auto r = required(f, "ref", ref); !r) return r;
          auto v = f.boolean("force");
          if (!v) return v.error();
          force = v->value_or(false);
          return {};
        }))
      return;
    post([w, reply, ref, force] {
      auto r = w->remove_image(ref, force);
      if (!r) return reply->send(error_response(r.error()));
      reply->send(json_response(200, json::serialize(json::object{{"ok", true}, {"ref", ref}})));
    });
  });
  router.add("POST", "/v1/images/prune", [w, post](ApiRequest req, Reply reply) {
    if (!read_body(req, reply, true, [](JsonFields&) -> core::Result<void> { return {}; })) return;
    post([w, reply] {
      auto r = w->images().prune();
      if (!r) return reply->send(error_response(r.error()));
      json::array blobs, layers;
      for (const auto& b : r->blobs) blobs.emplace_back(b);
      for (const auto& l : r->layers) layers.emplace_back(l);
      reply->send(json_response(200, json::serialize(json::object{
                                         {"ok", true}, {"blobs", std::move(blobs)}, {"layers", std::move(layers)},
                                         {"bytes", r->bytes}})));
    });
  });
  router.add("POST", "/v1/images/load", [w, post](ApiRequest req, Reply reply) {
    std::string path, name;
    if (!read_body(req, reply, false, [&](JsonFields& f) -> core::Result<void> {
          if (auto r = required(f, "path", path); !r) return r;
          if (!std::filesystem::path(path).is_absolute()) return f.bad("path", "must be an absolute path");
          auto n = f.string("name");
          if (!n) return n.error();
          name = n->value_or("");
          return {};
        }))
      return;
    post([w, reply, path, name] {
      auto loaded = image::load_images(w->images(), path, {.name = name});
      if (!loaded) return reply->send(error_response(std::move(loaded).error().wrap(fmt::format("load '{}'", path))));
      json::array names;
      for (const auto& i : *loaded) names.emplace_back(i.name);
      reply->send(json_response(200, json::serialize(json::object{{"ok", true}, {"images", std::move(names)}})));
    });
  });
}

}  // namespace berth::runtime::daemon
