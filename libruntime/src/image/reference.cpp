// SPDX-License-Identifier: Apache-2.0
// Written here rather than taken from a library: the grammar is a page of
// the distribution project's reference package, and the C++ registry
// clients in Debian do not expose theirs.
#include "berth/runtime/image/reference.hpp"

#include <fmt/format.h>

#include <vector>

namespace berth::runtime::image {
namespace {

using core::Errc;
using core::make_error;

constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxTag = 128;

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool word(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_'; }
bool hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

/// [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool path_component(std::string_view s) {
  std::size_t i = 0;
  auto run = [&] {
    const std::size_t start = i;
    while (i < s.size() && lower_alnum(s[i])) ++i;
    return i > start;
  };
  if (!run()) return false;
  while (i < s.size()) {
    if (s[i] == '.') ++i;
    else if (s[i] == '_') i += (i + 1 < s.size() && s[i + 1] == '_') ? 2 : 1;
    else if (s[i] == '-') while (i < s.size() && s[i] == '-') ++i;
    else return false;
    if (!run()) return false;
  }
  return true;
}

/// A registry host: DNS labels of letters, digits and '-', joined by '.',
/// or an IPv6 address in brackets; then an optional :port.
bool domain_ok(std::string_view d) {
  std::string_view host = d, port;
  if (!d.empty() && d.front() == '[') {
    auto close = d.find(']');
    if (close == std::string_view::npos) return false;
    host = d.substr(1, close - 1);
    for (char c : host)
      if (!(hex(c) || (c >= 'A' && c <= 'F') || c == ':' || c == '.')) return false;
    if (host.empty()) return false;
    port = d.substr(close + 1);
    if (!port.empty() && port.front() != ':') return false;
    if (!port.empty()) port.remove_prefix(1);
  } else {
    if (auto colon = d.rfind(':'); colon != std::string_view::npos) {
      host = d.substr(0, colon);
      port = d.substr(colon + 1);
      if (port.empty()) return false;
    }
    std::size_t label = 0;
    for (std::size_t i = 0; i <= host.size(); ++i) {
      if (i == host.size() || host[i] == '.') {
        if (label == 0) return false;
        if (host[i - 1] == '-' || host[i - label] == '-') return false;
        label = 0;
        continue;
      }
      const char c = host[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return false;
      ++label;
    }
  }
  if (port.size() > 5) return false;
  for (char c : port)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

bool is_sha256_digest(std::string_view d) noexcept {
  if (d.size() != 7 + 64 || !d.starts_with("sha256:")) return false;
  for (char c : d.substr(7))
    if (!hex(c)) return false;
  return true;
}

std::string Reference::to_string() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::familiar() const {
  // Docker Hub's names lose their registry, and official images "library/";
  // a first component that would read as a registry keeps "docker.io/".
  std::string s = name();
  if (domain == "docker.io") {
    const std::string_view first = std::string_view(path).substr(0, path.find('/'));
    const bool looks_like_domain = first.find_first_of(".:") != std::string_view::npos || first == "localhost";
    if (path.starts_with("library/") && path.find('/', 8) == std::string::npos) s = path.substr(8);
    else if (!looks_like_domain) s = path;
  }
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

core::Result<Reference> parse_reference(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(Errc::invalid_argument, fmt::format("image reference '{}': {}", text, why));
  };
  if (text.empty()) return bad("it is empty");
  for (char c : text)
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f)
      return bad("it contains a space or a character that is not printable ASCII");
  Reference r;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    r.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!is_sha256_digest(r.digest)) return bad("the digest is not sha256: followed by 64 lowercase hex digits");
  }
  // A tag follows the last ':' after the last '/' (a ':' before it is a port).
  const auto slash = rest.rfind('/');
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (r.tag.empty() || r.tag.size() > kMaxTag || !word(r.tag.front()))
      return bad("the tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
    for (char c : r.tag)
      if (!word(c) && c != '.' && c != '-')
        return bad("the tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
  }
  if (rest.empty()) return bad("there is no repository name");
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    auto next = rest.find('/', start);
    parts.push_back(rest.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start));
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  std::string_view first = parts.front();
  const bool has_domain = parts.size() > 1 && (first.find_first_of(".:") != std::string_view::npos ||
                                               first == "localhost" || first.front() == '[');
  if (has_domain) {
    if (!domain_ok(first)) return bad(fmt::format("'{}' is not a registry host[:port]", first));
    r.domain = std::string(first);
    parts.erase(parts.begin());
  } else {
    r.domain = "docker.io";
  }
  if (r.domain == "index.docker.io" || r.domain == "registry-1.docker.io") r.domain = "docker.io";
  for (const auto& p : parts) {
    if (p.empty()) return bad("a path component is empty");
    for (char c : p)
      if (c >= 'A' && c <= 'Z') return bad("the repository name must be lowercase");
    if (!path_component(p))
      return bad(fmt::format("'{}' is not a path component: lowercase letters and digits, joined by '.', '_', "
                             "'__' or '-'",
                             p));
    if (!r.path.empty()) r.path += '/';
    r.path += p;
  }
  if (r.domain == "docker.io" && parts.size() == 1) r.path = "library/" + r.path;
  if (r.name().size() > kMaxName) return bad(fmt::format("the name is longer than {} characters", kMaxName));
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

}  // namespace berth::runtime::image
