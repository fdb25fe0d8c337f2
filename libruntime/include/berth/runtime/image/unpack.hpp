// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace berth::runtime::image {

/// Where a layer's bytes come from, piece by piece: each call gives the next
/// piece, an empty one at the end. The bytes are never all in memory.
using ByteSource = std::function<core::Result<std::string_view>()>;

/// What unpacking a layer found.
struct UnpackedLayer {
  std::string diff_id;        ///< "sha256:…" of the uncompressed tar stream
  std::size_t entries = 0;
  std::size_t whiteouts = 0;  ///< deleted files (overlay whiteouts made)
  std::size_t opaque = 0;     ///< opaque directories
};

/// Unpacks one layer (a tar: plain, gzip or zstd, told apart by libarchive
/// from its bytes) into `dir`, an empty directory of its own, in one pass,
/// reading `source` to its end: owners, modes, times, extended attributes,
/// hard links, symlinks and device nodes are kept (owners and devices need
/// root). An OCI whiteout `.wh.NAME` becomes the overlay whiteout NAME (a
/// character device 0:0) and `.wh..wh..opq` makes its directory opaque
/// (`trusted.overlay.opaque=y`). An entry that would land outside `dir` (an
/// absolute name, a `..` component, a path through a symlink, a hard link to
/// a name outside) fails the whole layer: the caller removes `dir`, so
/// nothing of it stays. Untrusted input.
[[nodiscard]] core::Result<UnpackedLayer> unpack_layer(const ByteSource& source, const std::filesystem::path& dir);

/// A source reading a file in pieces.
[[nodiscard]] ByteSource file_source(const std::filesystem::path& file);

}  // namespace berth::runtime::image
