// SPDX-License-Identifier: Apache-2.0
// The JSON documents of an image as a registry or an archive hands them
// over: index, manifest, config. What parses keeps within the limits.
#include "berth/runtime/image/manifest.hpp"
#include "berth/runtime/image/reference.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace berth::runtime::image;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)document_kind(text);
  if (auto i = parse_index(text)) {
    for (const auto& d : i->manifests)
      if (!is_sha256_digest(d.digest) || d.size < 0) __builtin_trap();
    (void)select_platform(*i, Platform{});
  }
  if (auto m = parse_manifest(text))
    if (m->layers.size() > kMaxLayers || !is_sha256_digest(m->config.digest)) __builtin_trap();
  if (auto c = parse_image_config(text))
    if (c->diff_ids.size() > kMaxLayers) __builtin_trap();
  return 0;
}
