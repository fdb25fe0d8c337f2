// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "berth/core/error.hpp"
#include "berth/core/fs.hpp"
#include "berth/core/unique_fd.hpp"
#include "berth/runtime/image/digest.hpp"
#include "berth/runtime/image/manifest.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::runtime::image {

/// The annotation that names an image in index.json (what `skopeo inspect
/// oci:DIR:NAME` looks up).
inline constexpr std::string_view kRefName = "org.opencontainers.image.ref.name";

/// An image the store knows by name.
struct StoredImage {
  std::string name;     ///< its normalised reference, "docker.io/library/nginx:latest"
  Descriptor manifest;  ///< what index.json points at (the platform's manifest)
};

/// What prune removed.
struct PruneReport {
  std::vector<std::string> blobs;   ///< digests
  std::vector<std::string> layers;  ///< diff ids
  std::int64_t bytes = 0;
};

class Store;

/// A blob being written: bytes go to a file outside blobs/ and through the
/// digest; commit() makes it visible only when its size and digest are the
/// ones announced. A blob cut short (a pull killed halfway) is taken up
/// where it stopped by the next writer. Holds a lock on its file, so two
/// writers of one blob take turns and the second finds it done. Move-only.
class BlobWriter {
public:
  /// Bytes already there (a resumed download starts its Range here).
  [[nodiscard]] std::int64_t offset() const noexcept { return offset_; }
  /// True when the blob was complete before anything was written.
  [[nodiscard]] bool done() const noexcept { return done_; }
  [[nodiscard]] core::Result<void> write(std::string_view data);
  /// Verifies size and digest, then moves the blob into place (durably).
  /// On a mismatch the partial file is deleted and nothing becomes visible.
  [[nodiscard]] core::Result<void> commit();
  /// Forgets what was written (a download that will start over).
  [[nodiscard]] core::Result<void> restart();

  BlobWriter(BlobWriter&&) noexcept = default;
  BlobWriter& operator=(BlobWriter&&) noexcept = default;

private:
  friend class Store;
  BlobWriter() = default;
  std::string digest_;
  std::int64_t size_ = 0;
  std::int64_t offset_ = 0;
  bool done_ = false;
  std::filesystem::path partial_, final_;
  core::UniqueFd fd_;
  Sha256 hash_;
};

/// berth's image store under a base directory:
///   <base>/images/   an OCI image layout (oci-layout, index.json, blobs/sha256/), as skopeo and umoci read it
///   <base>/ingest/   blobs being written
///   <base>/layers/   each layer unpacked once, in a directory named by its diff id
///   <base>/l/        short names of the layer directories (overlay's mount options stay short)
///   <base>/holds/    the layers each container stands on, one file per holder: prune keeps them
/// A blob is visible in blobs/ only whole and verified; index.json is
/// replaced atomically and names only blobs that are there; a layer
/// directory appears whole. So a crash at any moment leaves a consistent
/// store. Several processes may share one: writers of index.json take its
/// lock. Cheap to copy (paths).
class Store {
public:
  [[nodiscard]] static core::Result<Store> open(std::filesystem::path base);

  [[nodiscard]] const std::filesystem::path& base() const noexcept { return base_; }
  [[nodiscard]] std::filesystem::path layout() const { return base_ / "images"; }

  // Blobs ---------------------------------------------------------------
  [[nodiscard]] std::filesystem::path blob_path(std::string_view digest) const;
  [[nodiscard]] bool has_blob(std::string_view digest) const;
  /// A small blob (a manifest, a config) read whole and checked against its digest.
  [[nodiscard]] core::Result<std::string> read_blob(std::string_view digest, std::size_t max_size = 4 << 20) const;
  /// Stores `data` as a blob; returns its descriptor.
  [[nodiscard]] core::Result<Descriptor> put_blob(std::string_view data, std::string_view media_type) const;
  /// Where a blob being written is kept until it is whole.
  [[nodiscard]] std::filesystem::path partial_path(std::string_view digest) const;
  /// Starts (or takes up again) writing the blob `digest` of `size` bytes.
  [[nodiscard]] core::Result<BlobWriter> write_blob(std::string_view digest, std::int64_t size) const;

  // Names -----------------------------------------------------------------
  [[nodiscard]] core::Result<std::vector<StoredImage>> images() const;
  [[nodiscard]] core::Result<std::optional<StoredImage>> find(std::string_view name) const;
  /// Points `name` at a manifest whose blobs are all in the store, replacing
  /// what it named before.
  [[nodiscard]] core::Result<void> tag(std::string_view name, const Descriptor& manifest) const;
  /// Forgets a name; an unknown one is `Errc::not_found`.
  [[nodiscard]] core::Result<void> untag(std::string_view name) const;

  // Layers ------------------------------------------------------------------
  [[nodiscard]] std::filesystem::path layer_path(std::string_view diff_id) const;
  [[nodiscard]] bool has_layer(std::string_view diff_id) const;
  /// The short path of a layer (`<base>/l/<8 characters>`, a symlink to it), made when missing.
  [[nodiscard]] core::Result<std::filesystem::path> layer_link(std::string_view diff_id) const;
  /// A fresh directory to unpack a layer into, beside the layers; removed
  /// with what is in it unless committed. Locked while it lives, so prune
  /// leaves it alone.
  class Scratch {
  public:
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    Scratch(Scratch&& o) noexcept : path_(std::exchange(o.path_, {})), lock_(std::move(o.lock_)) {}
    Scratch& operator=(Scratch&&) = delete;
    ~Scratch();

  private:
    friend class Store;
    Scratch(std::filesystem::path p, core::UniqueFd lock) : path_(std::move(p)), lock_(std::move(lock)) {}
    std::filesystem::path path_;
    core::UniqueFd lock_;
  };
  [[nodiscard]] core::Result<Scratch> layer_scratch(std::string_view diff_id) const;
  /// Moves an unpacked scratch directory into place as the layer `diff_id`;
  /// when another writer got there first, the scratch copy is removed.
  [[nodiscard]] core::Result<void> commit_layer(Scratch scratch, std::string_view diff_id) const;

  // Holds -----------------------------------------------------------------
  /// Marks the layers `diff_ids` as in use by `holder` (a container's id):
  /// prune keeps them whatever names the store still has, so an image
  /// removed under a running container leaves its layers. Taken under the
  /// index lock, so a prune either ran before (then check has_layer after
  /// holding) or sees the hold. Replaces the holder's earlier hold.
  [[nodiscard]] core::Result<void> hold(std::string_view holder, const std::vector<std::string>& diff_ids) const;
  /// Drops a holder's hold; none is fine.
  [[nodiscard]] core::Result<void> release(std::string_view holder) const;
  /// Who holds layers (a crashed create may leave a holder with no container: see Containers).
  [[nodiscard]] core::Result<std::vector<std::string>> holders() const;
  /// The diff ids every hold keeps.
  [[nodiscard]] core::Result<std::set<std::string>> held_layers() const;

  /// Removes every blob and layer no name reaches and no hold keeps, and
  /// what unfinished writes left behind that nobody writes any more.
  [[nodiscard]] core::Result<PruneReport> prune() const;

private:
  explicit Store(std::filesystem::path base) : base_(std::move(base)) {}
  [[nodiscard]] core::Result<void> write_index(const std::vector<StoredImage>& images) const;
  [[nodiscard]] core::Result<std::set<std::string>> held_layers_locked() const;

  std::filesystem::path base_;
};

/// Removes a directory tree that may hold read-only directories and
/// immutable-looking modes, as unpacked layers do; a missing one is fine.
[[nodiscard]] core::Result<void> remove_tree(const std::filesystem::path& path);

}  // namespace berth::runtime::image
