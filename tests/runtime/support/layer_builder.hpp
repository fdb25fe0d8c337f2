// SPDX-License-Identifier: Apache-2.0
// Builds layer tarballs in memory for tests (libarchive's writer): regular
// files with owners, directories, symlinks, hard links, devices, whiteouts,
// and names no real image would have.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace berth::test {

enum class Compression { None, Gzip, Zstd };

class LayerBuilder {
public:
  explicit LayerBuilder(Compression c = Compression::Gzip) : a_(archive_write_new()) {
    archive_write_set_format_pax_restricted(a_);
    if (c == Compression::Gzip) archive_write_add_filter_gzip(a_);
    if (c == Compression::Zstd) archive_write_add_filter_zstd(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    if (archive_write_open(a_, this, nullptr, &LayerBuilder::collect, nullptr) != ARCHIVE_OK)
      throw std::runtime_error(archive_error_string(a_));
  }
  ~LayerBuilder() { archive_write_free(a_); }

  LayerBuilder& file(const std::string& name, const std::string& data, unsigned mode = 0644, int uid = 0,
                     int gid = 0) {
    return add(name, AE_IFREG, mode, uid, gid, data);
  }
  LayerBuilder& dir(const std::string& name, unsigned mode = 0755, int uid = 0, int gid = 0) {
    return add(name, AE_IFDIR, mode, uid, gid, {});
  }
  LayerBuilder& symlink(const std::string& name, const std::string& target) {
    return add(name, AE_IFLNK, 0777, 0, 0, {}, target);
  }
  LayerBuilder& hardlink(const std::string& name, const std::string& target) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    write(e, {});
    return *this;
  }
  LayerBuilder& chardev(const std::string& name, unsigned major, unsigned minor) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFCHR);
    archive_entry_set_perm(e, 0666);
    archive_entry_set_rdevmajor(e, major);
    archive_entry_set_rdevminor(e, minor);
    write(e, {});
    return *this;
  }
  LayerBuilder& xattr(const std::string& name, const std::string& key, const std::string& value) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_xattr_add_entry(e, key.c_str(), value.data(), value.size());
    archive_entry_set_size(e, 1);
    write(e, "x");
    return *this;
  }
  /// The finished tarball.
  std::string take() {
    archive_write_close(a_);
    return std::move(out_);
  }

private:
  LayerBuilder& add(const std::string& name, unsigned type, unsigned mode, int uid, int gid, const std::string& data,
                    const std::string& link = {}) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (!link.empty()) archive_entry_set_symlink(e, link.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    write(e, data);
    return *this;
  }
  void write(archive_entry* e, const std::string& data) {
    if (archive_write_header(a_, e) != ARCHIVE_OK) throw std::runtime_error(archive_error_string(a_));
    if (!data.empty()) archive_write_data(a_, data.data(), data.size());
    archive_entry_free(e);
  }
  static la_ssize_t collect(archive*, void* self, const void* buf, size_t n) {
    static_cast<LayerBuilder*>(self)->out_.append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  archive* a_;
  std::string out_;
};

/// A source giving `data` in pieces of `piece` bytes (so the reader sees it arrive).
inline std::function<berth::core::Result<std::string_view>()> memory_source(const std::string& data,
                                                                            std::size_t piece = 4096) {
  auto pos = std::make_shared<std::size_t>(0);
  return [&data, pos, piece]() -> berth::core::Result<std::string_view> {
    const std::size_t n = std::min(piece, data.size() - *pos);
    std::string_view out(data.data() + *pos, n);
    *pos += n;
    return out;
  };
}

}  // namespace berth::test
