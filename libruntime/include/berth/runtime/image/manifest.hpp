// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// The JSON documents of an image: OCI image index and manifest (image-spec
/// 1.0), Docker's manifest list and schema 2 manifest, and the image config.
/// Every parser takes untrusted input (a registry's answer, an archive) and
/// is fuzzed.
namespace berth::runtime::image {

namespace media {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media

/// The most layers an image may have (Docker's limit is 127; overlayfs's
/// stack of lower directories is the real bound). More is refused.
inline constexpr std::size_t kMaxLayers = 128;

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  ///< "v8" for arm64, ...
  friend bool operator==(const Platform&, const Platform&) = default;
};

/// "linux/amd64", "linux/arm64/v8"; an error names what is wrong.
[[nodiscard]] core::Result<Platform> parse_platform(std::string_view text);
[[nodiscard]] std::string to_string(const Platform& p);

/// What points at a blob: its media type, digest and size.
struct Descriptor {
  std::string media_type;
  std::string digest;  ///< "sha256:…", checked
  std::int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;  ///< in an index
  friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

/// An OCI image index or a Docker manifest list.
struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
};

/// An OCI image manifest or a Docker schema 2 manifest.
struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;  ///< base first
};

/// The parts of an image config a container is made from.
struct ImageConfig {
  Platform platform;
  std::string user;                 ///< "", "nginx", "101", "101:101", "app:staff"
  std::vector<std::string> env;     ///< "KEY=VALUE"
  std::vector<std::string> entrypoint, cmd;
  std::string working_dir;
  std::string stop_signal;          ///< "", "SIGQUIT", "3"
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports;  ///< "80/tcp"
  std::vector<std::string> volumes;
  std::vector<std::string> diff_ids;       ///< one per layer, "sha256:…" of the uncompressed tar
};

/// What a manifest document is, from its own mediaType (or, without one, its shape).
enum class DocumentKind { Index, Manifest };
[[nodiscard]] core::Result<DocumentKind> document_kind(std::string_view json, std::string_view content_type = {});

[[nodiscard]] core::Result<Index> parse_index(std::string_view json);
[[nodiscard]] core::Result<Manifest> parse_manifest(std::string_view json);
[[nodiscard]] core::Result<ImageConfig> parse_image_config(std::string_view json);

/// The manifest for `platform` in an index: the same os and architecture,
/// and the variant when both name one. Errors list what the index holds.
[[nodiscard]] core::Result<Descriptor> select_platform(const Index& index, const Platform& platform);

/// The Docker-compatible serialisation of a descriptor (for index.json).
[[nodiscard]] std::string descriptor_json(const Descriptor& d);

}  // namespace berth::runtime::image
