// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/image/store.hpp"

#include "berth/core/names.hpp"
#include "berth/runtime/image/reference.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <set>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace berth::runtime::image {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

Result<void> fsync_dir(const fs::path& dir) {
  core::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) return core::errno_error(errno, fmt::format("fsync '{}'", dir.string()));
  return {};
}

Result<void> write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return core::errno_error(errno, fmt::format("write '{}'", path.string()));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> check_digest(std::string_view digest) {
  if (!is_sha256_digest(digest))
    return make_error(Errc::invalid_argument, fmt::format("'{}' is not a sha256 digest", digest));
  return {};
}

std::string random_suffix() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{:016x}", rng());
}

constexpr std::string_view kLayoutFile = R"({"imageLayoutVersion":"1.0.0"})";

}  // namespace

// BlobWriter ------------------------------------------------------------------

Result<void> BlobWriter::write(std::string_view data) {
  if (done_) return {};
  if (offset_ + static_cast<std::int64_t>(data.size()) > size_)
    return make_error(Errc::protocol, fmt::format("blob {}: more than the {} bytes announced", digest_, size_));
  BERTH_TRY(write_all(fd_.get(), data, partial_), "");
  hash_.update(data);
  offset_ += static_cast<std::int64_t>(data.size());
  return {};
}

Result<void> BlobWriter::restart() {
  if (done_) return {};
  if (::ftruncate(fd_.get(), 0) != 0 || ::lseek(fd_.get(), 0, SEEK_SET) < 0)
    return core::errno_error(errno, fmt::format("truncate '{}'", partial_.string()));
  hash_ = Sha256();
  offset_ = 0;
  return {};
}

Result<void> BlobWriter::commit() {
  if (done_) return {};
  if (offset_ != size_)
    return make_error(Errc::protocol,
                      fmt::format("blob {}: cut short at {} of {} bytes", digest_, offset_, size_));
  if (auto got = hash_.digest(); got != digest_) {
    ::unlink(partial_.c_str());  // nothing of a blob that is not what it claims stays
    return make_error(Errc::protocol, fmt::format("blob {}: its content has digest {}", digest_, got));
  }
  if (::fsync(fd_.get()) != 0) return core::errno_error(errno, fmt::format("fsync '{}'", partial_.string()));
  if (::rename(partial_.c_str(), final_.c_str()) != 0)
    return core::errno_error(errno, fmt::format("store blob {}", digest_));
  BERTH_TRY(fsync_dir(final_.parent_path()), "");
  done_ = true;
  fd_.reset();
  return {};
}

// Store -------------------------------------------------------------------------

Result<Store> Store::open(fs::path base) {
  const std::string what = fmt::format("open image store '{}'", base.string());
  Store s(std::move(base));
  for (const auto& d : {s.layout() / "blobs" / "sha256", s.base_ / "ingest", s.base_ / "layers", s.base_ / "l"})
    BERTH_TRY(core::make_directories(d, 0700), what);
  if (!fs::exists(s.layout() / "oci-layout")) BERTH_TRY(core::write_file_atomic(s.layout() / "oci-layout", kLayoutFile), what);
  if (!fs::exists(s.layout() / "index.json")) {
    auto lock = core::FileLock::acquire(s.base_ / "index.lock");
    if (!lock) return std::move(lock).error().wrap(what);
    if (!fs::exists(s.layout() / "index.json")) BERTH_TRY(s.write_index({}), what);
  }
  return s;
}

fs::path Store::blob_path(std::string_view digest) const {
  return layout() / "blobs" / "sha256" / std::string(digest_hex(digest));
}

bool Store::has_blob(std::string_view digest) const {
  std::error_code ec;
  return is_sha256_digest(digest) && fs::is_regular_file(blob_path(digest), ec);
}

Result<std::string> Store::read_blob(std::string_view digest, std::size_t max_size) const {
  BERTH_TRY(check_digest(digest), "read blob");
  const auto path = blob_path(digest);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return make_error(ec, fmt::format("read blob {}", digest));
  if (size > max_size) return make_error(Errc::protocol, fmt::format("blob {} is larger than {} bytes", digest, max_size));
  auto text = core::read_file(path);
  if (!text) return std::move(text).error();
  if (sha256_digest(*text) != digest)
    return make_error(Errc::corrupt, fmt::format("blob {} in '{}' does not match its digest", digest, path.string()));
  return text;
}

Result<Descriptor> Store::put_blob(std::string_view data, std::string_view media_type) const {
  Descriptor d{std::string(media_type), sha256_digest(data), static_cast<std::int64_t>(data.size()), {}, {}};
  auto w = write_blob(d.digest, d.size);
  if (!w) return w.error();
  if (w->done()) return d;
  if (w->offset() != 0) BERTH_TRY(w->restart(), "");
  BERTH_TRY(w->write(data), "");
  BERTH_TRY(w->commit(), "");
  return d;
}

fs::path Store::partial_path(std::string_view digest) const {
  return base_ / "ingest" / (std::string(digest_hex(digest)) + ".partial");
}

Result<BlobWriter> Store::write_blob(std::string_view digest, std::int64_t size) const {
  const std::string what = fmt::format("write blob {}", digest);
  BERTH_TRY(check_digest(digest), what);
  if (size < 0) return make_error(Errc::invalid_argument, what + ": negative size");
  BlobWriter w;
  w.digest_ = std::string(digest);
  w.size_ = size;
  w.final_ = blob_path(digest);
  if (has_blob(digest)) {
    w.done_ = true;
    w.offset_ = size;
    return w;
  }
  w.partial_ = partial_path(digest);
  w.fd_.reset(::open(w.partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!w.fd_) return core::errno_error(errno, what);
  // Another writer of the same blob goes first; then we find it done.
  while (::flock(w.fd_.get(), LOCK_EX) != 0)
    if (errno != EINTR) return core::errno_error(errno, what + ": lock");
  if (has_blob(digest)) {
    w.fd_.reset();
    w.done_ = true;
    w.offset_ = size;
    return w;
  }
  struct stat st {};
  if (::fstat(w.fd_.get(), &st) != 0) return core::errno_error(errno, what);
  if (st.st_size > size) {
    if (::ftruncate(w.fd_.get(), 0) != 0) return core::errno_error(errno, what);
    st.st_size = 0;
  }
  // Take up a blob cut short: its bytes so far go through the digest again.
  std::string buf(1 << 16, '\0');
  for (off_t at = 0; at < st.st_size;) {
    ssize_t n = ::pread(w.fd_.get(), buf.data(), std::min<off_t>(static_cast<off_t>(buf.size()), st.st_size - at), at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::errno_error(n < 0 ? errno : EIO, what + ": read what was written");
    w.hash_.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    at += n;
  }
  w.offset_ = st.st_size;
  if (::lseek(w.fd_.get(), st.st_size, SEEK_SET) < 0) return core::errno_error(errno, what);
  return w;
}

Result<std::vector<StoredImage>> Store::images() const {
  auto text = core::read_file(layout() / "index.json");
  if (!text) return std::move(text).error().wrap("read image store");
  auto index = parse_index(*text);
  if (!index) return std::move(index).error().wrap(fmt::format("'{}'", (layout() / "index.json").string()));
  std::vector<StoredImage> out;
  for (auto& d : index->manifests) {
    auto it = d.annotations.find(std::string(kRefName));
    out.push_back(StoredImage{it == d.annotations.end() ? std::string() : it->second, std::move(d)});
  }
  return out;
}

Result<std::optional<StoredImage>> Store::find(std::string_view name) const {
  auto all = images();
  if (!all) return all.error();
  for (auto& i : *all)
    if (i.name == name) return std::optional<StoredImage>(std::move(i));
  return std::optional<StoredImage>{};
}

Result<void> Store::write_index(const std::vector<StoredImage>& images) const {
  json::array manifests;
  for (const auto& i : images) manifests.push_back(json::parse(descriptor_json(i.manifest)));
  json::object index{{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", std::move(manifests)}};
  return core::write_file_atomic(layout() / "index.json", json::serialize(index), 0644);
}

Result<void> Store::tag(std::string_view name, const Descriptor& manifest) const {
  const std::string what = fmt::format("tag image '{}'", name);
  if (!has_blob(manifest.digest))
    return make_error(Errc::not_found, fmt::format("{}: manifest {} is not in the store", what, manifest.digest));
  auto lock = core::FileLock::acquire(base_ / "index.lock");
  if (!lock) return std::move(lock).error().wrap(what);
  auto all = images();
  if (!all) return std::move(all).error().wrap(what);
  std::erase_if(*all, [&](const StoredImage& i) { return i.name == name; });
  Descriptor d = manifest;
  d.annotations[std::string(kRefName)] = std::string(name);
  all->push_back(StoredImage{std::string(name), std::move(d)});
  BERTH_TRY(write_index(*all), what);
  return {};
}

Result<void> Store::untag(std::string_view name) const {
  const std::string what = fmt::format("remove image '{}'", name);
  auto lock = core::FileLock::acquire(base_ / "index.lock");
  if (!lock) return std::move(lock).error().wrap(what);
  auto all = images();
  if (!all) return std::move(all).error().wrap(what);
  const auto before = all->size();
  std::erase_if(*all, [&](const StoredImage& i) { return i.name == name; });
  if (all->size() == before) return make_error(Errc::not_found, fmt::format("{}: no such image", what));
  BERTH_TRY(write_index(*all), what);
  return {};
}

fs::path Store::layer_path(std::string_view diff_id) const {
  return base_ / "layers" / std::string(digest_hex(diff_id));
}

bool Store::has_layer(std::string_view diff_id) const {
  std::error_code ec;
  return is_sha256_digest(diff_id) && fs::is_directory(layer_path(diff_id), ec);
}

Result<fs::path> Store::layer_link(std::string_view diff_id) const {
  BERTH_TRY(check_digest(diff_id), "layer link");
  const fs::path target = layer_path(diff_id);
  const std::string_view hex = digest_hex(diff_id);
  // 10 characters keep 128 layers' lowerdir under a page; a clash takes more.
  for (std::size_t n = 10; n <= hex.size(); n += 6) {
    const fs::path link = base_ / "l" / std::string(hex.substr(0, n));
    std::error_code ec;
    auto to = fs::read_symlink(link, ec);
    if (!ec && to == target) return link;
    if (!ec) continue;
    if (::symlink(target.c_str(), link.c_str()) == 0) return link;
    if (errno != EEXIST) return core::errno_error(errno, fmt::format("link '{}'", link.string()));
    if (fs::read_symlink(link, ec) == target) return link;  // made meanwhile by another process
  }
  return make_error(Errc::conflict, fmt::format("no short name left for layer {}", diff_id));
}

Store::Scratch::~Scratch() {
  if (!path_.empty()) (void)remove_tree(path_);
}

Result<Store::Scratch> Store::layer_scratch(std::string_view diff_id) const {
  BERTH_TRY(check_digest(diff_id), "unpack layer");
  const fs::path p = base_ / "layers" / fmt::format(".tmp-{}-{}", digest_hex(diff_id).substr(0, 12), random_suffix());
  if (::mkdir(p.c_str(), 0755) != 0) return core::errno_error(errno, fmt::format("create '{}'", p.string()));
  core::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::rmdir(p.c_str());
    return core::errno_error(err, fmt::format("lock '{}'", p.string()));
  }
  return Scratch(p, std::move(fd));
}

Result<void> Store::commit_layer(Scratch scratch, std::string_view diff_id) const {
  const fs::path target = layer_path(diff_id);
  if (::rename(scratch.path().c_str(), target.c_str()) != 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) return {};  // another writer's copy is in place; ours goes
    return core::errno_error(errno, fmt::format("store layer {}", diff_id));
  }
  scratch.path_.clear();  // it is the layer now
  return fsync_dir(target.parent_path());
}

// Holds are plain text, one diff id per line, replaced atomically: small,
// and readable by an operator wondering why prune kept a layer.
Result<void> Store::hold(std::string_view holder, const std::vector<std::string>& diff_ids) const {
  const std::string what = fmt::format("hold the layers of '{}'", holder);
  if (!core::is_plain_name(holder, 128)) return make_error(Errc::invalid_argument, fmt::format("{}: not a plain name", what));
  std::string text;
  for (const auto& d : diff_ids) {
    BERTH_TRY(check_digest(d), what);
    text += d + '\n';
  }
  auto lock = core::FileLock::acquire(base_ / "index.lock");
  if (!lock) return std::move(lock).error().wrap(what);
  BERTH_TRY(core::make_directories(base_ / "holds", 0700), what);
  BERTH_TRY(core::write_file_atomic(base_ / "holds" / std::string(holder), text, 0600), what);
  return {};
}

Result<void> Store::release(std::string_view holder) const {
  if (!core::is_plain_name(holder, 128)) return {};  // never held
  auto lock = core::FileLock::acquire(base_ / "index.lock");
  if (!lock) return std::move(lock).error().wrap(fmt::format("release the layers of '{}'", holder));
  if (::unlink((base_ / "holds" / std::string(holder)).c_str()) != 0 && errno != ENOENT)
    return core::errno_error(errno, fmt::format("release the layers of '{}'", holder));
  // What a hold cut short by a crash left (holds are written under the same lock).
  const std::string prefix = std::string(holder) + ".tmp.";
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base_ / "holds", ec))
    if (e.path().filename().string().starts_with(prefix)) fs::remove(e.path(), ec);
  return {};
}

Result<std::vector<std::string>> Store::holders() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base_ / "holds", ec)) {
    std::string name = e.path().filename().string();
    // A hold whose write was cut short names its holder before ".tmp.".
    if (auto tmp = name.find(".tmp."); tmp != std::string::npos) name.resize(tmp);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) return core::make_error(ec, "read the store's holds");
  return out;
}

Result<std::set<std::string>> Store::held_layers() const {
  auto lock = core::FileLock::acquire(base_ / "index.lock");
  if (!lock) return std::move(lock).error().wrap("read the store's holds");
  return held_layers_locked();
}

Result<std::set<std::string>> Store::held_layers_locked() const {
  std::set<std::string> held;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(base_ / "holds", ec)) {
    // A replacement being written is read too: keeping a layer more is safe.
    auto text = core::read_file(e.path());
    if (!text && text.error().code == std::errc::no_such_file_or_directory) continue;  // released meanwhile
    if (!text) return std::move(text).error().wrap("read the store's holds");
    std::size_t start = 0;
    while (start < text->size()) {
      auto end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      auto line = std::string_view(*text).substr(start, end - start);
      if (is_sha256_digest(line)) held.emplace(line);
      start = end + 1;
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    return core::make_error(ec, "read the store's holds");
  return held;
}

Result<PruneReport> Store::prune() const {
  const std::string what = "prune image store";
  auto lock = core::FileLock::acquire(base_ / "index.lock");
  if (!lock) return std::move(lock).error().wrap(what);
  auto all = images();
  if (!all) return std::move(all).error().wrap(what);
  auto held = held_layers_locked();
  if (!held) return std::move(held).error().wrap(what);
  std::set<std::string> blobs, layers;
  for (const auto& d : *held) layers.insert(std::string(digest_hex(d)));
  // Manifests and indexes reached from the names, then their configs and layers.
  std::vector<std::string> pending;
  for (const auto& i : *all) pending.push_back(i.manifest.digest);
  while (!pending.empty()) {
    const std::string d = pending.back();
    pending.pop_back();
    if (!blobs.insert(d).second || !has_blob(d)) continue;
    auto text = read_blob(d);
    if (!text) continue;  // a corrupt manifest keeps only itself
    auto kind = document_kind(*text);
    if (!kind) continue;
    if (*kind == DocumentKind::Index) {
      if (auto index = parse_index(*text))
        for (const auto& m : index->manifests) pending.push_back(m.digest);
      continue;
    }
    auto m = parse_manifest(*text);
    if (!m) continue;
    blobs.insert(m->config.digest);
    for (const auto& l : m->layers) blobs.insert(l.digest);
    if (auto config = read_blob(m->config.digest))
      if (auto c = parse_image_config(*config))
        for (const auto& id : c->diff_ids) layers.insert(std::string(digest_hex(id)));
  }
  PruneReport report;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(layout() / "blobs" / "sha256", ec)) {
    const std::string d = "sha256:" + e.path().filename().string();
    if (blobs.count(d)) continue;
    report.bytes += static_cast<std::int64_t>(e.file_size(ec));
    if (fs::remove(e.path(), ec)) report.blobs.push_back(d);
  }
  for (const auto& e : fs::directory_iterator(base_ / "layers", ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(".tmp-")) {
      // A scratch directory nobody holds: an unpack that died.
      core::UniqueFd fd(::open(e.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) (void)remove_tree(e.path());
      continue;
    }
    if (layers.count(name)) continue;
    if (remove_tree(e.path())) report.layers.push_back("sha256:" + name);
  }
  for (const auto& e : fs::directory_iterator(base_ / "l", ec)) {
    std::error_code lec;
    if (!fs::exists(fs::read_symlink(e.path(), lec), lec)) fs::remove(e.path(), lec);  // its layer is gone
  }
  for (const auto& e : fs::directory_iterator(base_ / "ingest", ec)) {
    core::UniqueFd fd(::open(e.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      report.bytes += static_cast<std::int64_t>(e.file_size(ec));
      fs::remove(e.path(), ec);
    }
  }
  return report;
}

Result<void> remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (!ec) return {};
  // Directories without write permission (r-x in an image) block removal
  // for anyone without CAP_DAC_OVERRIDE: open them up, then try again.
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code sec;
    if (it->is_directory(sec) && !it->is_symlink(sec)) ::chmod(it->path().c_str(), 0700);
  }
  ::chmod(path.c_str(), 0700);
  ec.clear();
  fs::remove_all(path, ec);
  if (ec) return core::make_error(ec, fmt::format("remove '{}'", path.string()));
  return {};
}

}  // namespace berth::runtime::image
