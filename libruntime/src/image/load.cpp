// SPDX-License-Identifier: Apache-2.0
// Loading from an archive reads it twice with libarchive: first the small
// documents (index.json or manifest.json, manifests, configs), which say
// what the layers are; then the layers, each streamed once into its blob and
// its unpacked directory as the archive hands it over, in whatever order
// the archive holds them. Nothing is extracted to a temporary place.
#include "berth/runtime/image/load.hpp"

#include "berth/core/fs.hpp"
#include "berth/runtime/image/reference.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <map>
#include <memory>
#include <optional>
#include <set>

#include <sys/stat.h>

namespace berth::runtime::image {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

constexpr std::size_t kSmall = std::size_t{4} << 20;

core::Error bad(std::string_view what) { return make_error(Errc::protocol, std::string(what)); }

std::string clean(std::string_view path) {
  while (path.starts_with("./")) path.remove_prefix(2);
  return std::string(path);
}

/// One pass over a tar archive (any compression libarchive knows).
class TarReader {
public:
  static Result<TarReader> open(const fs::path& file) {
    TarReader r(archive_read_new());
    archive_read_support_filter_all(r.a_.get());
    archive_read_support_format_tar(r.a_.get());
    if (archive_read_open_filename(r.a_.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
      return make_error(Errc::invalid_argument,
                        fmt::format("'{}' is not an image archive: {}", file.string(), archive_error_string(r.a_.get())));
    return r;
  }
  /// The next regular file's path and size; nullopt at the end.
  Result<std::optional<std::pair<std::string, std::int64_t>>> next() {
    for (;;) {
      archive_entry* e = nullptr;
      const int r = archive_read_next_header(a_.get(), &e);
      if (r == ARCHIVE_EOF) return std::optional<std::pair<std::string, std::int64_t>>{};
      if (r < ARCHIVE_WARN) return bad(fmt::format("image archive: {}", archive_error_string(a_.get())));
      if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e)) {
        // skopeo's docker-archive points "<id>/layer.tar" at "../<digest>.tar".
        const fs::path from = clean(archive_entry_pathname(e));
        links[from.string()] = (from.parent_path() / archive_entry_symlink(e)).lexically_normal().string();
      }
      if (archive_entry_filetype(e) != AE_IFREG) continue;
      return std::optional(std::pair{clean(archive_entry_pathname(e)), static_cast<std::int64_t>(archive_entry_size(e))});
    }
  }
  Result<std::string> read_all(std::int64_t size) {
    std::string out(static_cast<std::size_t>(size), '\0');
    la_ssize_t n = archive_read_data(a_.get(), out.data(), out.size());
    if (n != size) return bad(fmt::format("image archive: an entry is cut short: {}", archive_error_string(a_.get())));
    return out;
  }
  /// The current entry's bytes, piece by piece.
  /// Symlinks seen so far: path -> the path they point at.
  std::map<std::string, std::string> links;

  ByteSource entry() {
    return [this]() -> Result<std::string_view> {
      la_ssize_t n = archive_read_data(a_.get(), buf_.data(), buf_.size());
      if (n < 0) return bad(fmt::format("image archive: {}", archive_error_string(a_.get())));
      return std::string_view(buf_.data(), static_cast<std::size_t>(n));
    };
  }

private:
  explicit TarReader(archive* a) : a_(a, archive_read_free) {}
  std::unique_ptr<archive, int (*)(archive*)> a_;
  std::vector<char> buf_ = std::vector<char>(1 << 16);
};

/// Where an OCI layout's blobs are: a directory, or entries of an archive.
struct Blobs {
  std::optional<fs::path> dir;
  std::map<std::string, std::string> small;  // archive: path -> bytes, for entries up to kSmall

  static std::string path_of(std::string_view digest) { return "blobs/sha256/" + std::string(digest_hex(digest)); }

  Result<std::string> read(const Descriptor& d) const {
    if (!is_sha256_digest(d.digest)) return bad(fmt::format("descriptor digest '{}' is not sha256", d.digest));
    if (d.size > static_cast<std::int64_t>(kSmall)) return bad(fmt::format("blob {} is larger than 4 MiB", d.digest));
    std::string text;
    if (dir) {
      auto r = core::read_file(*dir / path_of(d.digest));
      if (!r) return std::move(r).error();
      text = std::move(*r);
    } else {
      auto it = small.find(path_of(d.digest));
      if (it == small.end()) return make_error(Errc::not_found, fmt::format("blob {} is not in the archive", d.digest));
      text = it->second;
    }
    if (sha256_digest(text) != d.digest) return bad(fmt::format("blob {} does not match its digest", d.digest));
    return text;
  }
};

/// The name of an image of an OCI index: containerd's full name when there
/// is one, else `ref.name` as a reference; or the caller's.
Result<std::string> name_of(const Descriptor& d, const LoadOptions& o, bool single) {
  std::string text;
  if (!o.name.empty() && single) text = o.name;
  else if (auto it = d.annotations.find("io.containerd.image.name"); it != d.annotations.end()) text = it->second;
  else if (auto ref = d.annotations.find(std::string(kRefName)); ref != d.annotations.end()) text = ref->second;
  else if (!o.name.empty()) text = o.name;
  if (text.empty()) return make_error(Errc::invalid_argument, fmt::format("image {} has no name: give it one", d.digest));
  auto r = parse_reference(text);
  if (!r) return r.error();
  return r->to_string();
}

/// Puts the documents of each image in the store and plans its layers.
struct Loader {
  const Store& store;
  const LoadOptions& o;
  std::vector<std::pair<std::string, ImagePlan>> images;  // name, plan
  std::map<std::string, LayerPlan> layers;               // by where the bytes are (archive path or blob path)

  Result<void> add(const std::string& name, const Descriptor& manifest, const std::string& manifest_json,
                   const std::string& config_json, const std::function<std::string(const Descriptor&, std::size_t)>& where) {
    const std::string what = fmt::format("load '{}'", name);
    auto c = store.put_blob(config_json, media::kOciConfig);
    if (!c) return std::move(c).error().wrap(what);
    auto plan = plan_image(store, manifest, manifest_json);
    if (!plan) return std::move(plan).error().wrap(what);
    if (plan->parsed.config.digest != c->digest)
      return bad(fmt::format("{}: the config is not the manifest's", what));
    for (std::size_t i = 0; i < plan->layers.size(); ++i)
      if (!plan->layers[i].present) layers.emplace(where(plan->layers[i].blob, i), plan->layers[i]);
    images.emplace_back(name, std::move(*plan));
    return {};
  }

  Result<std::vector<StoredImage>> finish() {
    std::vector<StoredImage> out;
    for (const auto& [name, plan] : images) {
      auto r = finish_image(store, plan, name);
      if (!r) return std::move(r).error().wrap(fmt::format("load '{}'", name));
      out.push_back(std::move(*r));
    }
    return out;
  }
};

/// The manifests an OCI index names, each resolved to the platform's manifest.
Result<void> plan_oci(Loader& loader, const Blobs& blobs, std::string_view index_json) {
  auto index = parse_index(index_json);
  if (!index) return std::move(index).error().wrap("index.json");
  if (index->manifests.empty()) return bad("index.json names no image");
  for (const auto& top : index->manifests) {
    auto name = name_of(top, loader.o, index->manifests.size() == 1);
    if (!name) return name.error();
    Descriptor m = top;
    auto text = blobs.read(m);
    if (!text) return std::move(text).error().wrap(fmt::format("load '{}'", *name));
    auto kind = document_kind(*text, m.media_type);
    if (!kind) return std::move(kind).error().wrap(fmt::format("load '{}'", *name));
    if (*kind == DocumentKind::Index) {
      auto nested = parse_index(*text);
      if (!nested) return std::move(nested).error().wrap(fmt::format("load '{}'", *name));
      auto chosen = select_platform(*nested, loader.o.platform);
      if (!chosen) return std::move(chosen).error().wrap(fmt::format("load '{}'", *name));
      m = *chosen;
      text = blobs.read(m);
      if (!text) return std::move(text).error().wrap(fmt::format("load '{}'", *name));
    }
    auto manifest = parse_manifest(*text);
    if (!manifest) return std::move(manifest).error().wrap(fmt::format("load '{}'", *name));
    auto config = blobs.read(manifest->config);
    if (!config) return std::move(config).error().wrap(fmt::format("load '{}': config", *name));
    m.annotations.clear();
    m.platform.reset();
    BERTH_TRY(loader.add(*name, m, *text, *config, [](const Descriptor& d, std::size_t) { return Blobs::path_of(d.digest); }),
              "");
  }
  return {};
}

/// `docker save`'s manifest.json: [{"Config": "<hex>.json", "RepoTags": [...], "Layers": ["<id>/layer.tar", ...]}].
Result<void> plan_docker(Loader& loader, const Blobs& blobs, std::string_view manifest_json,
                         const std::map<std::string, std::int64_t>& sizes,
                         const std::map<std::string, std::string>& links) {
  boost::system::error_code ec;
  auto doc = json::parse(manifest_json, ec);
  const auto* list = ec ? nullptr : doc.if_array();
  if (!list || list->empty()) return bad("manifest.json is not a list of images");
  for (const auto& v : *list) {
    const auto* o = v.if_object();
    const auto* cfg = o ? o->if_contains("Config") : nullptr;
    const auto* layers = o ? o->if_contains("Layers") : nullptr;
    if (!cfg || !cfg->is_string() || !layers || !layers->is_array())
      return bad("manifest.json: an image lacks 'Config' or 'Layers'");
    auto config_it = blobs.small.find(clean(cfg->get_string()));
    if (config_it == blobs.small.end())
      return bad(fmt::format("manifest.json: config '{}' is not in the archive", std::string_view(cfg->get_string())));
    const std::string& config = config_it->second;
    auto parsed = parse_image_config(config);
    if (!parsed) return std::move(parsed).error().wrap("manifest.json");
    const auto& paths = layers->get_array();
    if (paths.size() != parsed->diff_ids.size())
      return bad(fmt::format("manifest.json: {} layers for {} diff ids", paths.size(), parsed->diff_ids.size()));
    // docker save stores layers uncompressed: each blob's digest is its diff id.
    json::array descriptors;
    std::vector<std::string> where;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (!paths[i].is_string()) return bad("manifest.json: a layer is not a path");
      std::string path = clean(paths[i].get_string());
      if (auto l = links.find(path); l != links.end()) path = l->second;
      auto size = sizes.find(path);
      if (size == sizes.end()) return bad(fmt::format("manifest.json: layer '{}' is not in the archive", path));
      descriptors.push_back(json::parse(descriptor_json({std::string(media::kOciLayer), parsed->diff_ids[i], size->second, {}, {}})));
      where.push_back(path);
    }
    const Descriptor config_desc{std::string(media::kOciConfig), sha256_digest(config),
                                 static_cast<std::int64_t>(config.size()), {}, {}};
    const std::string manifest =
        json::serialize(json::object{{"schemaVersion", 2},
                                     {"mediaType", media::kOciManifest},
                                     {"config", json::parse(descriptor_json(config_desc))},
                                     {"layers", std::move(descriptors)}});
    const Descriptor m{std::string(media::kOciManifest), sha256_digest(manifest),
                       static_cast<std::int64_t>(manifest.size()), {}, {}};
    std::vector<std::string> names;
    if (const auto* tags = o->if_contains("RepoTags"); tags && tags->is_array())
      for (const auto& t : tags->get_array())
        if (t.is_string()) names.emplace_back(t.get_string());
    if (!loader.o.name.empty() && list->size() == 1) names = {loader.o.name};
    if (names.empty())
      return make_error(Errc::invalid_argument, fmt::format("image {} has no name: give it one", config_desc.digest));
    for (const auto& n : names) {
      auto ref = parse_reference(n);
      if (!ref) return ref.error();
      BERTH_TRY(loader.add(ref->to_string(), m, manifest, config, [&](const Descriptor&, std::size_t i) { return where[i]; }),
                "");
    }
  }
  return {};
}

Result<std::vector<StoredImage>> load_directory(const Store& store, const fs::path& dir, const LoadOptions& o) {
  Blobs blobs{dir, {}};
  auto index = core::read_file(dir / "index.json");
  if (!index) return std::move(index).error();
  Loader loader{store, o, {}, {}};
  BERTH_TRY(plan_oci(loader, blobs, *index), "");
  for (const auto& [path, layer] : loader.layers)
    BERTH_TRY(install_layer(store, layer, file_source(dir / path), o.progress), "");
  return loader.finish();
}

Result<std::vector<StoredImage>> load_archive(const Store& store, const fs::path& file, const LoadOptions& o) {
  Blobs blobs;
  std::map<std::string, std::int64_t> sizes;
  std::map<std::string, std::string> links;
  {
    auto reader = TarReader::open(file);
    if (!reader) return reader.error();
    for (;;) {
      auto entry = reader->next();
      if (!entry) return entry.error();
      if (!*entry) break;
      const auto& [path, size] = **entry;
      sizes[path] = size;
      if (size <= static_cast<std::int64_t>(kSmall) && (path.ends_with(".json") || path.starts_with("blobs/") ||
                                                      path == "oci-layout")) {
        auto text = reader->read_all(size);
        if (!text) return text.error();
        blobs.small[path] = std::move(*text);
      }
    }
    links = reader->links;
  }
  Loader loader{store, o, {}, {}};
  if (auto m = blobs.small.find("manifest.json"); m != blobs.small.end())
    BERTH_TRY(plan_docker(loader, blobs, m->second, sizes, links), "");
  else if (auto i = blobs.small.find("index.json"); i != blobs.small.end())
    BERTH_TRY(plan_oci(loader, blobs, i->second), "");
  else
    return make_error(Errc::invalid_argument,
                      fmt::format("'{}' holds neither index.json (an OCI archive) nor manifest.json (docker save)",
                                  file.string()));
  if (!loader.layers.empty()) {
    auto reader = TarReader::open(file);
    if (!reader) return reader.error();
    std::set<std::string> done;
    for (;;) {
      auto entry = reader->next();
      if (!entry) return entry.error();
      if (!*entry) break;
      auto it = loader.layers.find((*entry)->first);
      if (it == loader.layers.end() || done.count(it->first)) continue;
      BERTH_TRY(install_layer(store, it->second, reader->entry(), o.progress), "");
      done.insert(it->first);
    }
  }
  return loader.finish();
}

}  // namespace

Result<std::vector<StoredImage>> load_images(const Store& store, const fs::path& from, const LoadOptions& o) {
  const std::string what = fmt::format("load '{}'", from.string());
  std::error_code ec;
  auto status = fs::status(from, ec);
  if (ec) return make_error(ec, what);
  auto r = fs::is_directory(status) ? load_directory(store, from, o) : load_archive(store, from, o);
  if (!r) return std::move(r).error().wrap(what);
  return r;
}

}  // namespace berth::runtime::image
