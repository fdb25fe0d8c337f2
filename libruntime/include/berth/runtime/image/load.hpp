// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/image/install.hpp"
#include "berth/runtime/image/manifest.hpp"
#include "berth/runtime/image/store.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::runtime::image {

struct LoadOptions {
  /// The platform to take from a multi-platform image.
  Platform platform;
  /// A name (an image reference) for an image that has none, or that
  /// replaces the archive's when it holds one image.
  std::string name;
  LayerProgress progress;
};

/// Loads images into the store, offline, from an OCI image layout directory,
/// an OCI archive (a tar of one, as `skopeo copy ... oci-archive:` writes), or
/// a `docker save` archive. Every blob is checked against its digest and
/// every layer unpacked and checked against its diff id before an image is
/// named; the names are normalised references (an OCI `ref.name` such as
/// `busybox:1` is docker.io/library/busybox:1). Untrusted input.
[[nodiscard]] core::Result<std::vector<StoredImage>> load_images(const Store& store, const std::filesystem::path& from,
                                                                 const LoadOptions& options = {});

}  // namespace berth::runtime::image
