// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/runtime/image/install.hpp"
#include "berth/runtime/image/manifest.hpp"
#include "berth/runtime/image/reference.hpp"
#include "berth/runtime/image/store.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace berth::runtime::image {

struct PullOptions {
  Platform platform;
  /// Docker's config.json, whose `auths` hold the credentials (empty: none).
  std::filesystem::path docker_config;
  /// Registries spoken to over plain HTTP (localhost and loopback always are).
  std::vector<std::string> insecure_registries;
  /// Certificate authorities to trust instead of the system's (a test's own CA).
  std::filesystem::path ca_file;
  /// Layers downloaded at once.
  unsigned parallel = 3;
  /// Tries of one request when the registry answers 5xx, 429 or the
  /// connection breaks; the wait doubles from `backoff` between them.
  unsigned attempts = 5;
  std::chrono::milliseconds backoff{200};
  /// Told per layer: bytes done and its size (from the downloading threads).
  LayerProgress progress;
  /// Told what happens: "resolving", "layer sha256:… already present".
  std::function<void(std::string_view)> status;
};

/// Pulls an image over the OCI distribution API (v2): the manifest as an
/// OCI index or manifest, or Docker's manifest list or schema 2; the
/// platform's manifest from an index; anonymous, Basic and Bearer-token
/// authentication (the registry's WWW-Authenticate challenge); HTTPS with the
/// system's CAs (plain HTTP only for loopback and registries named insecure),
/// proxies from HTTPS_PROXY/NO_PROXY and redirects to blob storage (libcurl).
/// Layers come down several at once, each streamed through its digest into
/// its blob and unpacked in the same pass, a broken download taken up with a
/// Range request where it stopped, also after the pulling process died.
/// Everything is checked (digests, diff ids, sizes) before the image is named.
[[nodiscard]] core::Result<StoredImage> pull(const Store& store, const Reference& ref, const PullOptions& options = {});

}  // namespace berth::runtime::image
