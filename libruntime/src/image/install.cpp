// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/image/install.hpp"

#include <fmt/format.h>

#include <memory>

namespace berth::runtime::image {

using core::Errc;
using core::make_error;
using core::Result;

Result<ImagePlan> plan_image(const Store& store, const Descriptor& manifest, std::string_view manifest_json) {
  const std::string what = fmt::format("image {}", manifest.digest);
  if (sha256_digest(manifest_json) != manifest.digest)
    return make_error(Errc::protocol, fmt::format("{}: the manifest does not have its digest", what));
  ImagePlan plan;
  plan.manifest = manifest;
  auto parsed = parse_manifest(manifest_json);
  if (!parsed) return std::move(parsed).error().wrap(what);
  plan.parsed = std::move(*parsed);
  if (!store.has_blob(manifest.digest)) {
    auto put = store.put_blob(manifest_json, manifest.media_type);
    if (!put) return std::move(put).error().wrap(what);
  }
  auto config_text = store.read_blob(plan.parsed.config.digest);
  if (!config_text) return std::move(config_text).error().wrap(what + ": config");
  auto config = parse_image_config(*config_text);
  if (!config) return std::move(config).error().wrap(what);
  plan.config = std::move(*config);
  if (plan.config.diff_ids.size() != plan.parsed.layers.size())
    return make_error(Errc::protocol, fmt::format("{}: the manifest lists {} layers and the config {} diff ids", what,
                                                  plan.parsed.layers.size(), plan.config.diff_ids.size()));
  for (std::size_t i = 0; i < plan.parsed.layers.size(); ++i) {
    LayerPlan l{plan.parsed.layers[i], plan.config.diff_ids[i]};
    l.present = store.has_blob(l.blob.digest) && store.has_layer(l.diff_id);
    plan.layers.push_back(std::move(l));
  }
  return plan;
}

ByteSource counting(ByteSource inner, std::function<void(std::int64_t)> on_bytes) {
  return [inner = std::move(inner), on_bytes = std::move(on_bytes)]() -> Result<std::string_view> {
    auto piece = inner();
    if (piece && on_bytes) on_bytes(static_cast<std::int64_t>(piece->size()));
    return piece;
  };
}

Result<void> install_layer(const Store& store, const LayerPlan& layer, const ByteSource& source,
                           const LayerProgress& progress) {
  return install_layer(store, layer,
                       [&](std::int64_t offset) -> Result<ByteSource> {
                         if (offset != 0) return make_error(Errc::invalid_argument, "this source starts at its beginning");
                         return source;
                       },
                       progress);
}

Result<void> install_layer(const Store& store, const LayerPlan& layer, const RangeOpener& open,
                           const LayerProgress& progress) {
  const std::string what = fmt::format("layer {}", layer.blob.digest);
  if (store.has_blob(layer.blob.digest) && store.has_layer(layer.diff_id)) return {};
  auto writer = store.write_blob(layer.blob.digest, layer.blob.size);
  if (!writer) return std::move(writer).error().wrap(what);
  const bool keep_blob = !writer->done();
  // What the blob holds already comes back from disk; the rest from `open`.
  ByteSource kept;
  Result<ByteSource> rest = make_error(Errc::invalid_argument, "not opened");
  if (!keep_blob) {
    kept = file_source(store.blob_path(layer.blob.digest));
    rest = ByteSource([]() -> Result<std::string_view> { return std::string_view(); });
  } else if (writer->offset() > 0 && (rest = open(writer->offset()))) {
    kept = file_source(store.partial_path(layer.blob.digest));
  } else {
    if (writer->offset() != 0) BERTH_TRY(writer->restart(), what);
    rest = open(0);
  }
  if (!rest) return std::move(rest).error().wrap(what);
  std::int64_t from_disk = keep_blob ? writer->offset() : layer.blob.size;
  std::int64_t done = 0;
  ByteSource tee = [&]() -> Result<std::string_view> {
    if (kept && from_disk > 0) {
      auto piece = kept();
      if (!piece) return piece;
      if (!piece->empty()) {
        std::string_view p = piece->substr(0, static_cast<std::size_t>(std::min<std::int64_t>(from_disk, piece->size())));
        from_disk -= static_cast<std::int64_t>(p.size());
        done += static_cast<std::int64_t>(p.size());
        if (progress) progress(layer.blob.digest, done, layer.blob.size);
        return p;
      }
      from_disk = 0;  // the file was shorter than its writer said: the digest will tell
    }
    auto piece = (*rest)();
    if (!piece) return piece;
    if (keep_blob)
      if (auto w = writer->write(*piece); !w) return std::move(w).error();
    done += static_cast<std::int64_t>(piece->size());
    if (progress && !piece->empty()) progress(layer.blob.digest, done, layer.blob.size);
    return piece;
  };
  if (store.has_layer(layer.diff_id)) {
    // Only the blob is missing: read it through without unpacking.
    for (;;) {
      auto piece = tee();
      if (!piece) return std::move(piece).error().wrap(what);
      if (piece->empty()) break;
    }
    BERTH_TRY(writer->commit(), what);
    return {};
  }
  auto scratch = store.layer_scratch(layer.diff_id);
  if (!scratch) return std::move(scratch).error().wrap(what);
  auto unpacked = unpack_layer(tee, scratch->path());
  if (!unpacked) return std::move(unpacked).error().wrap(what);
  if (keep_blob) BERTH_TRY(writer->commit(), what);  // the digest of what came, checked
  if (unpacked->diff_id != layer.diff_id)
    return make_error(Errc::protocol, fmt::format("{}: it unpacks to diff id {}, not the config's {}", what,
                                                  unpacked->diff_id, layer.diff_id));
  BERTH_TRY(store.commit_layer(std::move(*scratch), layer.diff_id), what);
  return {};
}

Result<StoredImage> finish_image(const Store& store, const ImagePlan& plan, std::string_view name) {
  for (const auto& l : plan.layers)
    if (!store.has_blob(l.blob.digest) || !store.has_layer(l.diff_id))
      return make_error(Errc::not_found, fmt::format("image '{}': layer {} is not in the store", name, l.blob.digest));
  BERTH_TRY(store.tag(name, plan.manifest), "");
  return StoredImage{std::string(name), plan.manifest};
}

}  // namespace berth::runtime::image
