// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/image/manifest.hpp"
#include "berth/runtime/image/store.hpp"
#include "berth/runtime/image/unpack.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

/// Putting an image into the store, whatever it comes from (a registry, an
/// archive, a layout on disk): each layer is stored as a blob and unpacked in
/// the same pass, its digest and diff id checked, and the name is given only
/// once every piece is in place.
namespace berth::runtime::image {

/// Told as a layer goes in: its digest, bytes done so far and its size.
using LayerProgress = std::function<void(std::string_view digest, std::int64_t done, std::int64_t total)>;

/// One layer to bring in: its blob and the diff id the config says it has.
struct LayerPlan {
  Descriptor blob;
  std::string diff_id;
  /// Already in the store (blob and unpacked layer): nothing to do.
  bool present = false;
};

/// What an image needs, read from its manifest and config (both already
/// in the store): its layers in order, and which are there already.
struct ImagePlan {
  Descriptor manifest;
  Manifest parsed;
  ImageConfig config;
  std::vector<LayerPlan> layers;
};

/// Stores `manifest_json` (checked against `manifest`'s digest) and makes
/// the plan; the config must be in the store already (`store.put_blob`).
[[nodiscard]] core::Result<ImagePlan> plan_image(const Store& store, const Descriptor& manifest,
                                                 std::string_view manifest_json);

/// Brings one layer in from `source`, read once: into its blob (unless the
/// blob is there) and unpacked (unless the layer is there). Fails, leaving
/// nothing of it, when the bytes do not have the blob's digest or unpack to
/// another diff id. `source` may be the stored blob itself.
[[nodiscard]] core::Result<void> install_layer(const Store& store, const LayerPlan& layer, const ByteSource& source,
                                               const LayerProgress& progress = {});

/// Opens the layer's bytes from `offset` on (a download's Range).
using RangeOpener = std::function<core::Result<ByteSource>(std::int64_t offset)>;

/// Like `install_layer`, for a source that can start anywhere: a blob that
/// an earlier writer left cut short (a pull that died) is not fetched again
/// from its start; its bytes so far are read back from the partial file for
/// the unpacker and the rest is asked for from where it stopped.
[[nodiscard]] core::Result<void> install_layer(const Store& store, const LayerPlan& layer, const RangeOpener& open,
                                               const LayerProgress& progress = {});

/// Names an image whose layers are all in place.
[[nodiscard]] core::Result<StoredImage> finish_image(const Store& store, const ImagePlan& plan, std::string_view name);

/// A source over another that also counts what passed (for progress).
[[nodiscard]] ByteSource counting(ByteSource inner, std::function<void(std::int64_t)> on_bytes);

}  // namespace berth::runtime::image
