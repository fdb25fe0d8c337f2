// SPDX-License-Identifier: Apache-2.0
// Two libarchive readers in a chain, both pulling: the outer one undoes the
// compression (any filter libarchive knows, told from the bytes) and hands
// out the raw tar stream, which is hashed for the diff id on its way into
// the inner one, which reads the tar entries. libarchive's disk writer puts
// each entry down with owners, modes, times and xattrs and refuses names
// with "..", and paths through symlinks; berth checks each name before it
// gets there (for a clear error) and makes the overlay whiteouts itself,
// through directory descriptors opened without following symlinks.
#include "berth/runtime/image/unpack.hpp"

#include "berth/core/unique_fd.hpp"
#include "berth/runtime/image/digest.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <memory>
#include <optional>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace berth::runtime::image {
namespace {

namespace fs = std::filesystem;
using core::Errc;
using core::make_error;
using core::Result;

using Archive = std::unique_ptr<archive, int (*)(archive*)>;

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";

core::Error refused(std::string_view name, std::string_view why) {
  return make_error(Errc::invalid_argument, fmt::format("layer entry '{}' {}", name, why));
}

/// The components of an entry's name, or why it may not be unpacked.
Result<std::vector<std::string>> components(std::string_view name) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= name.size();) {
    auto slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    const auto part = name.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return refused(name, "has a '..' component");
    out.emplace_back(part);
  }
  // "/" alone is the layer's root, as "./" is (umoci writes it); any other
  // absolute name is refused, not quietly made relative.
  if (name.starts_with('/') && !out.empty()) return refused(name, "has an absolute name");
  return out;
}

std::string join(const std::vector<std::string>& parts, std::size_t count) {
  std::string s;
  for (std::size_t i = 0; i < count; ++i) (s += (i ? "/" : "")) += parts[i];
  return s;
}

/// Opens the directory `parts` under `root`, making what is missing, never
/// following a symlink (a path through one would lead outside the layer).
Result<core::UniqueFd> open_dir(int root, const std::vector<std::string>& parts, std::string_view entry,
                                bool create = true) {
  core::UniqueFd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!dir) return core::errno_error(errno, "dup");
  for (const auto& p : parts) {
    if (create && ::mkdirat(dir.get(), p.c_str(), 0755) != 0 && errno != EEXIST)
      return core::errno_error(errno, fmt::format("layer entry '{}': create directory '{}'", entry, p));
    int next = ::openat(dir.get(), p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      if (errno == ELOOP || errno == ENOTDIR) return refused(entry, "goes through a symlink or a file");
      return core::errno_error(errno, fmt::format("layer entry '{}'", entry));
    }
    dir.reset(next);
  }
  return dir;
}

/// The outer reader's client: pulls the (compressed) layer from the source.
struct Compressed {
  const ByteSource* source;
  std::optional<core::Error> error;
};

la_ssize_t read_compressed(archive* a, void* client, const void** buf) {
  auto* c = static_cast<Compressed*>(client);
  auto piece = (*c->source)();
  if (!piece) {
    c->error = std::move(piece).error();
    archive_set_error(a, EIO, "reading the layer failed");
    return -1;
  }
  *buf = piece->data();
  return static_cast<la_ssize_t>(piece->size());
}

/// The inner reader's client: the tar stream out of the outer reader, hashed.
struct TarStream {
  archive* outer;
  Sha256 hash;
  std::array<char, 1 << 16> buf;
  bool failed = false;
};

la_ssize_t read_tar(archive* a, void* client, const void** buf) {
  auto* t = static_cast<TarStream*>(client);
  la_ssize_t n = archive_read_data(t->outer, t->buf.data(), t->buf.size());
  if (n < 0) {
    t->failed = true;
    archive_set_error(a, EIO, "%s", archive_error_string(t->outer));
    return -1;
  }
  t->hash.update(std::string_view(t->buf.data(), static_cast<std::size_t>(n)));
  *buf = t->buf.data();
  return n;
}

}  // namespace

Result<UnpackedLayer> unpack_layer(const ByteSource& source, const fs::path& dir) {
  std::error_code ec;
  const fs::path root_path = fs::canonical(dir, ec);  // no symlink in the prefix libarchive checks
  if (ec) return make_error(ec, fmt::format("unpack into '{}'", dir.string()));
  core::UniqueFd root(::open(root_path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return core::errno_error(errno, fmt::format("unpack into '{}'", dir.string()));

  Archive outer(archive_read_new(), archive_read_free);
  Archive inner(archive_read_new(), archive_read_free);
  Archive disk(archive_write_disk_new(), archive_write_free);
  BERTH_ASSERT(outer && inner && disk);
  archive_read_support_filter_all(outer.get());
  archive_read_support_format_raw(outer.get());
  archive_read_support_format_empty(outer.get());
  Compressed compressed{&source, std::nullopt};
  auto fail_source = [&](std::string_view what) -> core::Error {
    if (compressed.error) return std::move(*compressed.error);
    return make_error(Errc::protocol, fmt::format("{}: {}", what, archive_error_string(outer.get())));
  };
  if (archive_read_open(outer.get(), &compressed, nullptr, read_compressed, nullptr) != ARCHIVE_OK)
    return fail_source("layer is not readable");
  archive_entry* raw = nullptr;
  UnpackedLayer out;
  auto drain = [&](TarStream* t) -> Result<void> {
    // Everything after the tar's end counts in the diff id, and the whole
    // compressed stream in the blob's digest: read both to their ends.
    if (t)
      for (;;) {
        la_ssize_t n = archive_read_data(outer.get(), t->buf.data(), t->buf.size());
        if (n < 0) return fail_source("layer is cut short or corrupt");
        if (n == 0) break;
        t->hash.update(std::string_view(t->buf.data(), static_cast<std::size_t>(n)));
      }
    for (;;) {
      auto piece = source();
      if (!piece) return std::move(piece).error();
      if (piece->empty()) return {};
    }
  };
  const int first = archive_read_next_header(outer.get(), &raw);
  if (first == ARCHIVE_EOF) {  // an empty stream: a layer without entries
    BERTH_TRY(drain(nullptr), "");
    out.diff_id = sha256_digest("");
    return out;
  }
  if (first != ARCHIVE_OK) return fail_source("layer is not readable");

  auto tar = std::make_unique<TarStream>();
  tar->outer = outer.get();
  archive_read_support_format_tar(inner.get());
  archive_read_support_format_empty(inner.get());
  if (archive_read_open(inner.get(), tar.get(), nullptr, read_tar, nullptr) != ARCHIVE_OK)
    return make_error(Errc::protocol, fmt::format("layer is not a tar: {}", archive_error_string(inner.get())));

  int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
              ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_UNLINK;
  if (::geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(disk.get(), flags);
  // No name lookup: an image's uid 101 stays 101, whatever this host calls it.

  for (;;) {
    archive_entry* e = nullptr;
    const int r = archive_read_next_header(inner.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (tar->failed) return fail_source("layer is cut short or corrupt");
      return make_error(Errc::protocol, fmt::format("layer is not a valid tar: {}", archive_error_string(inner.get())));
    }
    ++out.entries;
    const std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    auto parts = components(name);
    if (!parts) return parts.error();
    if (parts->empty()) continue;  // "./": the layer's own root
    const std::string base = parts->back();
    if (base.starts_with(kWhiteout)) {
      parts->pop_back();
      auto parent = open_dir(root.get(), *parts, name);
      if (!parent) return parent.error();
      if (base == kOpaque) {
        if (::fsetxattr(parent->get(), "trusted.overlay.opaque", "y", 1, 0) != 0)
          return core::errno_error(errno, fmt::format("layer entry '{}': mark the directory opaque", name));
        ++out.opaque;
      } else {
        const std::string gone = base.substr(kWhiteout.size());
        if (gone.empty() || gone == "." || gone == "..") return refused(name, "whites out no name");
        ::unlinkat(parent->get(), gone.c_str(), 0);  // an earlier entry of this layer, if any
        if (::mknodat(parent->get(), gone.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0)
          return core::errno_error(errno, fmt::format("layer entry '{}': make the whiteout", name));
        ++out.whiteouts;
      }
      continue;
    }
    // The parent must be a real directory inside the layer, made if missing.
    {
      std::vector<std::string> parent(parts->begin(), parts->end() - 1);
      auto d = open_dir(root.get(), parent, name);
      if (!d) return d.error();
    }
    if (const char* link = archive_entry_hardlink(e)) {
      auto target = components(link);
      if (!target) return refused(name, fmt::format("is a hard link to '{}', outside the layer", link));
      if (target->empty()) return refused(name, "is a hard link to the layer's root");
      // Its target must be a name of this layer, reached without a symlink.
      std::vector<std::string> target_parent(target->begin(), target->end() - 1);
      if (auto d = open_dir(root.get(), target_parent, name, /*create=*/false); !d)
        return refused(name, fmt::format("is a hard link to '{}', which is not in the layer", link));
      archive_entry_copy_hardlink(e, (root_path / join(*target, target->size())).c_str());
    }
    archive_entry_copy_pathname(e, (root_path / join(*parts, parts->size())).c_str());
    if (archive_write_header(disk.get(), e) < ARCHIVE_WARN)
      return refused(name, fmt::format("cannot be unpacked: {}", archive_error_string(disk.get())));
    if (archive_entry_size(e) > 0) {
      const void* buf = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      for (;;) {
        const int d = archive_read_data_block(inner.get(), &buf, &size, &offset);
        if (d == ARCHIVE_EOF) break;
        if (d < ARCHIVE_WARN) {
          if (tar->failed) return fail_source("layer is cut short or corrupt");
          return make_error(Errc::protocol, fmt::format("layer entry '{}': {}", name, archive_error_string(inner.get())));
        }
        if (archive_write_data_block(disk.get(), buf, size, offset) < ARCHIVE_WARN)
          return core::make_error(Errc::protocol, fmt::format("layer entry '{}': write: {}", name,
                                                              archive_error_string(disk.get())));
      }
    }
    if (archive_write_finish_entry(disk.get()) < ARCHIVE_WARN)
      return refused(name, fmt::format("cannot be unpacked: {}", archive_error_string(disk.get())));
  }
  // Directory times and modes are set last (writing into a directory changes them).
  if (archive_write_close(disk.get()) < ARCHIVE_WARN)
    return make_error(Errc::protocol, fmt::format("finish the layer: {}", archive_error_string(disk.get())));
  BERTH_TRY(drain(tar.get()), "");
  out.diff_id = tar->hash.digest();
  return out;
}

ByteSource file_source(const fs::path& file) {
  struct State {
    core::UniqueFd fd;
    std::vector<char> buf = std::vector<char>(1 << 16);
    int open_error = 0;
    fs::path path;
  };
  auto s = std::make_shared<State>();
  s->path = file;
  s->fd.reset(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!s->fd) s->open_error = errno;
  return [s]() -> Result<std::string_view> {
    if (!s->fd) return core::errno_error(s->open_error, fmt::format("read '{}'", s->path.string()));
    for (;;) {
      ssize_t n = ::read(s->fd.get(), s->buf.data(), s->buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return core::errno_error(errno, fmt::format("read '{}'", s->path.string()));
      return std::string_view(s->buf.data(), static_cast<std::size_t>(n));
    }
  };
}

}  // namespace berth::runtime::image
