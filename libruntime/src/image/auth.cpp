// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/image/auth.hpp"

#include "berth/core/fs.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <cctype>

namespace berth::runtime::image {
namespace {

using core::Errc;
using core::make_error;
using core::Result;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// The name a registry is known by in config.json.
std::string registry_key(std::string_view key) {
  std::string k(key);
  for (std::string_view scheme : {"https://", "http://"})
    if (k.starts_with(scheme)) k = k.substr(scheme.size());
  if (auto slash = k.find('/'); slash != std::string::npos) k = k.substr(0, slash);
  if (k == "index.docker.io" || k == "registry-1.docker.io") k = "docker.io";
  return k;
}

}  // namespace

Result<std::vector<Challenge>> parse_www_authenticate(std::string_view h) {
  auto bad = [&](std::string_view why) {
    return make_error(Errc::protocol, fmt::format("WWW-Authenticate '{}': {}", h.substr(0, 200), why));
  };
  if (h.size() > 8192) return bad("longer than 8 KiB");
  std::vector<Challenge> out;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
  };
  auto token = [&] {
    const std::size_t start = i;
    while (i < h.size() && token_char(h[i])) ++i;
    return h.substr(start, i - start);
  };
  while (true) {
    skip_space();
    while (i < h.size() && h[i] == ',') {
      ++i;
      skip_space();
    }
    if (i >= h.size()) break;
    auto scheme = token();
    if (scheme.empty()) return bad("a challenge does not start with a scheme");
    Challenge c{lower(scheme), {}};
    // Parameters: name=value or name="quoted", separated by commas, until
    // the next token that is not followed by '=' (a new scheme).
    while (true) {
      skip_space();
      const std::size_t mark = i;
      auto name = token();
      skip_space();
      if (name.empty() || i >= h.size() || h[i] != '=') {
        i = mark;
        break;
      }
      ++i;
      skip_space();
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        bool closed = false;
        while (i < h.size()) {
          if (h[i] == '\\' && i + 1 < h.size()) {
            value += h[i + 1];
            i += 2;
          } else if (h[i] == '"') {
            ++i;
            closed = true;
            break;
          } else {
            value += h[i++];
          }
        }
        if (!closed) return bad("a quoted value does not end");
      } else {
        value = std::string(token());
      }
      c.params[lower(name)] = std::move(value);
      skip_space();
      if (i < h.size() && h[i] == ',') ++i;
      else break;
    }
    out.push_back(std::move(c));
    skip_space();
    if (i < h.size() && !token_char(h[i]) && h[i] != ',') return bad(fmt::format("unexpected '{}'", h[i]));
  }
  if (out.empty()) return bad("no challenge");
  return out;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts the padding's zero bytes.
  for (std::size_t k = text.size(); k > 0 && text[k - 1] == '=' && len > 0; --k) --len;
  out.resize(len);
  return out;
}

Result<std::map<std::string, Credentials>> parse_docker_config(std::string_view json_text) {
  boost::system::error_code ec;
  auto doc = boost::json::parse(json_text, ec);
  if (ec || !doc.is_object()) return make_error(Errc::invalid_argument, "docker config: not a JSON object");
  std::map<std::string, Credentials> out;
  const auto* auths = doc.get_object().if_contains("auths");
  if (!auths) return out;
  if (!auths->is_object()) return make_error(Errc::invalid_argument, "docker config: 'auths' is not an object");
  for (const auto& [key, v] : auths->get_object()) {
    const auto* o = v.if_object();
    if (!o) continue;
    Credentials c;
    if (const auto* a = o->if_contains("auth"); a && a->is_string() && !a->get_string().empty()) {
      auto decoded = base64_decode(std::string_view(a->get_string()));
      if (!decoded) return make_error(Errc::invalid_argument, fmt::format("docker config: the auth of '{}' is not base64", std::string_view(key)));
      auto colon = decoded->find(':');
      if (colon == std::string::npos)
        return make_error(Errc::invalid_argument, fmt::format("docker config: the auth of '{}' is not user:password", std::string_view(key)));
      c.username = decoded->substr(0, colon);
      c.password = decoded->substr(colon + 1);
    } else {
      const auto* u = o->if_contains("username");
      const auto* p = o->if_contains("password");
      if (!u || !p || !u->is_string() || !p->is_string()) continue;
      c.username = std::string(u->get_string());
      c.password = std::string(p->get_string());
    }
    out[registry_key(key)] = std::move(c);
  }
  return out;
}

Result<std::optional<Credentials>> credentials_for(const std::filesystem::path& file, std::string_view registry) {
  auto text = core::read_file(file);
  if (!text) {
    if (text.error().code == std::errc::no_such_file_or_directory) return std::optional<Credentials>{};
    return std::move(text).error();
  }
  auto all = parse_docker_config(*text);
  if (!all) return std::move(all).error().wrap(file.string());
  auto it = all->find(registry_key(registry));
  if (it == all->end()) return std::optional<Credentials>{};
  return std::optional<Credentials>(it->second);
}

}  // namespace berth::runtime::image
