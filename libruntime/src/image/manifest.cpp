// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/image/manifest.hpp"

#include "berth/runtime/image/reference.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

namespace berth::runtime::image {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

core::Error bad(std::string_view what, std::string_view why) {
  return make_error(Errc::protocol, fmt::format("{}: {}", what, why));
}

Result<json::object> object_of(std::string_view text, std::string_view what) {
  if (text.size() > (std::size_t{4} << 20)) return bad(what, "larger than 4 MiB");
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return bad(what, fmt::format("not JSON: {}", ec.message()));
  if (!v.is_object()) return bad(what, "not a JSON object");
  return std::move(v.get_object());
}

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<std::vector<std::string>> strings(const json::object& o, std::string_view key, std::string_view what) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  const auto* a = v->if_array();
  if (!a) return bad(what, fmt::format("'{}' is not a list", key));
  for (const auto& x : *a) {
    if (!x.is_string()) return bad(what, fmt::format("'{}' holds something that is not a string", key));
    out.emplace_back(x.get_string());
  }
  return out;
}

Result<Descriptor> descriptor(const json::value& v, std::string_view what) {
  const auto* o = v.if_object();
  if (!o) return bad(what, "a descriptor is not an object");
  Descriptor d;
  d.media_type = str(*o, "mediaType");
  d.digest = str(*o, "digest");
  if (!is_sha256_digest(d.digest))
    return bad(what, fmt::format("descriptor digest '{}' is not sha256: and 64 hex digits", d.digest));
  const auto* size = o->if_contains("size");
  if (!size || !size->is_int64() || size->get_int64() < 0)
    return bad(what, "a descriptor's size is missing or negative");
  d.size = size->get_int64();
  if (const auto* a = o->if_contains("annotations"); a && a->is_object())
    for (const auto& [k, val] : a->get_object())
      if (val.is_string()) d.annotations.emplace(std::string(k), std::string(val.get_string()));
  if (const auto* p = o->if_contains("platform"); p && p->is_object()) {
    Platform pl;
    pl.os = str(p->get_object(), "os");
    pl.architecture = str(p->get_object(), "architecture");
    pl.variant = str(p->get_object(), "variant");
    d.platform = pl;
  }
  return d;
}

Result<std::vector<Descriptor>> descriptors(const json::object& o, std::string_view key, std::string_view what,
                                            std::size_t max) {
  const auto* v = o.if_contains(key);
  const auto* a = v ? v->if_array() : nullptr;
  if (!a) return bad(what, fmt::format("'{}' is missing or not a list", key));
  if (a->size() > max) return bad(what, fmt::format("'{}' lists {} entries, more than {}", key, a->size(), max));
  std::vector<Descriptor> out;
  for (const auto& x : *a) {
    auto d = descriptor(x, what);
    if (!d) return d.error();
    out.push_back(std::move(*d));
  }
  return out;
}

}  // namespace

Result<Platform> parse_platform(std::string_view text) {
  Platform p;
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    auto slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  auto plain = [](const std::string& s) {
    if (s.empty() || s.size() > 32) return false;
    for (char c : s)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    return true;
  };
  if (parts.size() < 2 || parts.size() > 3 || !plain(parts[0]) || !plain(parts[1]) ||
      (parts.size() == 3 && !plain(parts[2])))
    return make_error(Errc::invalid_argument,
                      fmt::format("platform '{}' is not os/architecture[/variant], such as linux/amd64", text));
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

std::string to_string(const Platform& p) {
  return p.variant.empty() ? fmt::format("{}/{}", p.os, p.architecture)
                           : fmt::format("{}/{}/{}", p.os, p.architecture, p.variant);
}

Result<DocumentKind> document_kind(std::string_view text, std::string_view content_type) {
  auto o = object_of(text, "manifest");
  if (!o) return o.error();
  std::string type = str(*o, "mediaType");
  if (type.empty()) type = std::string(content_type.substr(0, content_type.find(';')));
  if (type == media::kOciIndex || type == media::kDockerList) return DocumentKind::Index;
  if (type == media::kOciManifest || type == media::kDockerManifest) return DocumentKind::Manifest;
  // An OCI document may leave its mediaType out: tell them by their shape.
  if (type.empty() && o->contains("manifests")) return DocumentKind::Index;
  if (type.empty() && o->contains("config") && o->contains("layers")) return DocumentKind::Manifest;
  if (type == "application/vnd.docker.distribution.manifest.v1+json" ||
      type == "application/vnd.docker.distribution.manifest.v1+prettyjws")
    return make_error(Errc::protocol, "manifest: Docker schema 1 manifests are not supported (deprecated since 2017)");
  return make_error(Errc::protocol, fmt::format("manifest: unknown media type '{}'", type));
}

Result<Index> parse_index(std::string_view text) {
  auto o = object_of(text, "image index");
  if (!o) return o.error();
  Index i;
  i.media_type = str(*o, "mediaType");
  auto m = descriptors(*o, "manifests", "image index", 1024);
  if (!m) return m.error();
  i.manifests = std::move(*m);
  return i;
}

Result<Manifest> parse_manifest(std::string_view text) {
  auto o = object_of(text, "image manifest");
  if (!o) return o.error();
  Manifest m;
  m.media_type = str(*o, "mediaType");
  const auto* config = o->if_contains("config");
  if (!config) return bad("image manifest", "'config' is missing");
  auto c = descriptor(*config, "image manifest");
  if (!c) return c.error();
  m.config = std::move(*c);
  auto layers = descriptors(*o, "layers", "image manifest", kMaxLayers);
  if (!layers) return layers.error();
  m.layers = std::move(*layers);
  for (const auto& l : m.layers)
    if (l.digest == m.config.digest) return bad("image manifest", "a layer is the config blob");
  return m;
}

Result<ImageConfig> parse_image_config(std::string_view text) {
  constexpr std::string_view what = "image config";
  auto o = object_of(text, what);
  if (!o) return o.error();
  ImageConfig c;
  c.platform.os = str(*o, "os");
  c.platform.architecture = str(*o, "architecture");
  c.platform.variant = str(*o, "variant");
  if (const auto* cfg = o->if_contains("config"); cfg && cfg->is_object()) {
    const auto& x = cfg->get_object();
    c.user = str(x, "User");
    c.working_dir = str(x, "WorkingDir");
    c.stop_signal = str(x, "StopSignal");
    for (auto [key, field] : {std::pair{"Env", &c.env}, {"Entrypoint", &c.entrypoint}, {"Cmd", &c.cmd}}) {
      auto v = strings(x, key, what);
      if (!v) return v.error();
      *field = std::move(*v);
    }
    if (const auto* l = x.if_contains("Labels"); l && l->is_object())
      for (const auto& [k, v] : l->get_object())
        if (v.is_string()) c.labels.emplace(std::string(k), std::string(v.get_string()));
    if (const auto* p = x.if_contains("ExposedPorts"); p && p->is_object())
      for (const auto& [k, v] : p->get_object()) c.exposed_ports.emplace_back(k);
    if (const auto* p = x.if_contains("Volumes"); p && p->is_object())
      for (const auto& [k, v] : p->get_object()) c.volumes.emplace_back(k);
  }
  const auto* rootfs = o->if_contains("rootfs");
  const auto* r = rootfs ? rootfs->if_object() : nullptr;
  if (!r) return bad(what, "'rootfs' is missing");
  auto ids = strings(*r, "diff_ids", what);
  if (!ids) return ids.error();
  if (ids->size() > kMaxLayers) return bad(what, fmt::format("{} layers, more than {}", ids->size(), kMaxLayers));
  for (const auto& id : *ids)
    if (!is_sha256_digest(id)) return bad(what, fmt::format("diff id '{}' is not sha256: and 64 hex digits", id));
  c.diff_ids = std::move(*ids);
  return c;
}

Result<Descriptor> select_platform(const Index& index, const Platform& want) {
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    const auto& p = *d.platform;
    if (p.os == want.os && p.architecture == want.architecture &&
        (want.variant.empty() || p.variant.empty() || p.variant == want.variant))
      return d;
  }
  std::vector<std::string> have;
  for (const auto& d : index.manifests)
    if (d.platform) have.push_back(to_string(*d.platform));
  return make_error(Errc::not_found, fmt::format("no image for platform {} (the index has: {})", to_string(want),
                                                 have.empty() ? std::string("no platforms") : fmt::format("{}", fmt::join(have, ", "))));
}

std::string descriptor_json(const Descriptor& d) {
  json::object o{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) {
    json::object a;
    for (const auto& [k, v] : d.annotations) a[k] = v;
    o["annotations"] = std::move(a);
  }
  if (d.platform) {
    json::object p{{"os", d.platform->os}, {"architecture", d.platform->architecture}};
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    o["platform"] = std::move(p);
  }
  return json::serialize(o);
}

}  // namespace berth::runtime::image
