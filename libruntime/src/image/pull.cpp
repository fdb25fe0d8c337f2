// SPDX-License-Identifier: Apache-2.0
// The registry client on libcurl (from Debian), which already does TLS with
// the system's CAs, proxies from the environment, redirects and ranges;
// Beast would have meant writing those again. Each layer has two threads: one
// runs its download (libcurl's write callback hands pieces to a small bounded
// queue) and one unpacks, pulling pieces off that queue, so a layer is never
// held in memory and the download waits when unpacking is slower.
#include "berth/runtime/image/pull.hpp"

#include "berth/runtime/image/auth.hpp"

#include <boost/json.hpp>
#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace berth::runtime::image {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

constexpr std::size_t kSmall = std::size_t{4} << 20;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// One answer: status, headers (lower-cased names, the last response's), body handled by the caller.
struct Answer {
  long status = 0;
  std::map<std::string, std::string> headers;
  std::string body;  ///< kept only for errors and small documents
};

struct Transfer {
  std::function<bool(std::string_view)> on_data;  ///< false stops the transfer
  Answer answer;
  bool keep_body = false;
  bool aborted = false;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) t->answer.headers.clear();  // a new response (after a redirect, or 100)
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    t->answer.headers[lower(line.substr(0, colon))] = std::string(value);
  }
  return size * n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view piece(data, size * n);
  if (t->keep_body) {
    if (t->answer.body.size() + piece.size() > kSmall) {
      t->aborted = true;
      return 0;
    }
    t->answer.body.append(piece);
    return piece.size();
  }
  if (t->on_data && !t->on_data(piece)) {
    t->aborted = true;
    return 0;
  }
  return piece.size();
}

/// Whether a failure is worth another try.
bool transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}
bool transient(long status) { return status == 429 || status >= 500; }

/// The registry's own words for an error: {"errors":[{"code":"...","message":"..."}]}.
std::string registry_says(const std::string& body) {
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return {};
  const auto* errors = doc.get_object().if_contains("errors");
  if (!errors || !errors->is_array() || errors->get_array().empty()) return {};
  const auto* first = errors->get_array().front().if_object();
  if (!first) return {};
  std::string code, message;
  if (const auto* c = first->if_contains("code"); c && c->is_string()) code = std::string(c->get_string());
  if (const auto* m = first->if_contains("message"); m && m->is_string()) message = std::string(m->get_string());
  return code.empty() ? message : fmt::format("{}: {}", code, message);
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

class Registry {
public:
  Registry(const Reference& ref, const PullOptions& o) : ref_(ref), o_(o) {
    static CurlGlobal init;
    const std::string host = ref.domain == "docker.io" ? "registry-1.docker.io" : ref.domain;
    const std::string bare = host.substr(0, host.rfind(':') == std::string::npos || host.front() == '[' ? host.size()
                                                                                                       : host.rfind(':'));
    // As Docker does: HTTPS always first; plain HTTP only for loopback and
    // registries named insecure, and only when the server does not speak TLS.
    plain_allowed_ = bare == "localhost" || bare.starts_with("127.") || bare == "[::1]" ||
                     std::find(o.insecure_registries.begin(), o.insecure_registries.end(), ref.domain) !=
                         o.insecure_registries.end();
    host_ = host;
  }

  /// A small document (a manifest, a config) whole.
  Result<Answer> fetch(const std::string& what, const std::string& path, const std::vector<std::string>& accept) {
    return request(what, path, accept, {}, 0, true);
  }

  /// A blob streamed to `on_data`, from `offset` on. A registry that
  /// ignores the Range answers 200 with the whole blob: the bytes before
  /// `offset` are dropped here.
  Result<Answer> stream(const std::string& what, const std::string& digest, std::int64_t offset,
                        const std::function<bool(std::string_view)>& on_data) {
    return request(what, "/blobs/" + digest, {}, on_data, offset, false);
  }

private:
  std::string url_of(const std::string& path) {
    std::lock_guard lock(mutex_);
    return fmt::format("{}://{}/v2/{}{}", plain_ ? "http" : "https", host_, ref_.path, path);
  }

  Result<Answer> request(const std::string& what, const std::string& path, const std::vector<std::string>& accept,
                         const std::function<bool(std::string_view)>& on_data, std::int64_t offset, bool whole) {
    auto wait = o_.backoff;
    bool authenticated_again = false;
    std::int64_t given_total = 0;  // bytes handed on by earlier tries: the next one starts after them
    for (unsigned attempt = 1;; ++attempt) {
      std::int64_t skip = 0;  // set when a Range was ignored
      std::int64_t given = 0;
      Transfer t;
      t.keep_body = whole;
      t.on_data = [&](std::string_view piece) {
        if (skip > 0) {
          const auto drop = std::min<std::int64_t>(skip, static_cast<std::int64_t>(piece.size()));
          piece.remove_prefix(static_cast<std::size_t>(drop));
          skip -= drop;
          if (piece.empty()) return true;
        }
        given += static_cast<std::int64_t>(piece.size());
        return on_data(piece);
      };
      std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
      if (!curl) return make_error(Errc::protocol, what + ": curl_easy_init failed");
      curl_slist* headers = nullptr;
      std::string accept_header;
      for (const auto& a : accept) accept_header += (accept_header.empty() ? "" : ", ") + a;
      if (!accept_header.empty()) headers = curl_slist_append(headers, ("Accept: " + accept_header).c_str());
      {
        std::lock_guard lock(mutex_);
        if (!authorization_.empty()) headers = curl_slist_append(headers, ("Authorization: " + authorization_).c_str());
      }
      std::unique_ptr<curl_slist, void (*)(curl_slist*)> owned(headers, curl_slist_free_all);
      CURL* c = curl.get();
      const std::string url = url_of(path);
      curl_easy_setopt(c, CURLOPT_URL, url.c_str());
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);  // blobs are often redirected to storage
      curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
      curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
      curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/0.1");
      if (!o_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o_.ca_file.c_str());
      const std::int64_t from = offset + given_total;
      std::string range;
      if (!whole && from > 0) {
        range = fmt::format("{}-", from);
        curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
      }
      curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
      curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_checked);
      CheckedTransfer ct{&t, c, !whole && from > 0, from, &skip};
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &ct);
      const CURLcode code = curl_easy_perform(c);
      long status = 0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      t.answer.status = status;
      if (t.aborted && !whole && ct.stopped_by_consumer)
        return make_error(Errc::protocol, what + ": stopped");  // the unpacker failed; it says why
      if (t.aborted && whole) return make_error(Errc::protocol, fmt::format("{}: larger than 4 MiB", what));
      if (code == CURLE_SSL_CONNECT_ERROR && plain_allowed_ && !plain_) {
        // The server answered the TLS handshake with plain HTTP: speak it (never after a certificate failure).
        std::lock_guard lock(mutex_);
        plain_ = true;
        --attempt;
        continue;
      }
      if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && t.aborted)) {
        if (!whole) given_total += given;
        if (transient(code) && attempt < o_.attempts) {
          std::this_thread::sleep_for(wait);
          wait *= 2;
          continue;
        }
        return make_error(Errc::protocol, fmt::format("{}: {} ({} tries)", what, curl_easy_strerror(code), attempt));
      }
      if (status == 401 && !authenticated_again) {
        authenticated_again = true;
        BERTH_TRY(authenticate(t.answer.headers["www-authenticate"]), what);
        --attempt;
        continue;
      }
      if (transient(status) && attempt < o_.attempts) {
        std::this_thread::sleep_for(wait);
        wait *= 2;
        continue;
      }
      if (status != 200 && status != 206) {
        const std::string says = registry_says(t.answer.body);
        const auto errc = status == 404 ? Errc::not_found : status == 401 || status == 403 ? Errc::conflict : Errc::protocol;
        return make_error(errc, says.empty() ? fmt::format("{}: HTTP {}", what, status)
                                             : fmt::format("{}: HTTP {} ({})", what, status, says));
      }
      return t.answer;
    }
  }

  /// libcurl's write callback, with the check that a Range was honoured.
  struct CheckedTransfer {
    Transfer* t;
    CURL* curl;
    bool ranged;
    std::int64_t from;
    std::int64_t* skip;
    bool checked = false;
    bool stopped_by_consumer = false;
  };
  static std::size_t on_body_checked(char* data, std::size_t size, std::size_t n, void* user) {
    auto* ct = static_cast<CheckedTransfer*>(user);
    if (!ct->checked) {
      ct->checked = true;
      long status = 0;
      curl_easy_getinfo(ct->curl, CURLINFO_RESPONSE_CODE, &status);
      if (!ct->t->keep_body && status != 200 && status != 206) ct->t->keep_body = true;  // an error body, kept for its words
      if (ct->ranged && status == 200) *ct->skip = ct->from;
    }
    const std::size_t r = on_body(data, size, n, ct->t);
    if (r != size * n && !ct->t->keep_body) ct->stopped_by_consumer = true;
    return r;
  }

  Result<void> authenticate(const std::string& header) {
    auto challenges = parse_www_authenticate(header);
    if (!challenges) return make_error(Errc::conflict, "the registry asks for authentication and says not how");
    std::optional<Credentials> creds;
    if (!o_.docker_config.empty()) {
      auto c = credentials_for(o_.docker_config, ref_.domain);
      if (!c) return c.error();
      creds = *c;
    }
    for (const auto& ch : *challenges) {
      if (ch.scheme == "basic") {
        if (!creds)
          return make_error(Errc::conflict, fmt::format("the registry wants a user and password and {} has none for '{}'",
                                                        o_.docker_config.empty() ? std::string("berth was given no config.json")
                                                                                 : o_.docker_config.string(),
                                                        ref_.domain));
        std::lock_guard lock(mutex_);
        authorization_ = "Basic " + base64_encode(creds->username + ":" + creds->password);
        return {};
      }
      if (ch.scheme == "bearer") return bearer(ch, creds);
    }
    return make_error(Errc::conflict, fmt::format("the registry asks for an authentication berth does not speak ({})", header));
  }

  Result<void> bearer(const Challenge& ch, const std::optional<Credentials>& creds) {
    auto realm = ch.params.find("realm");
    if (realm == ch.params.end() || !(realm->second.starts_with("https://") || realm->second.starts_with("http://")))
      return make_error(Errc::protocol, "the registry's Bearer challenge has no http(s) realm");
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    auto escape = [&](const std::string& s) {
      char* e = curl_easy_escape(curl.get(), s.c_str(), static_cast<int>(s.size()));
      std::string out(e);
      curl_free(e);
      return out;
    };
    std::string url = realm->second + (realm->second.find('?') == std::string::npos ? "?" : "&");
    if (auto s = ch.params.find("service"); s != ch.params.end()) url += "service=" + escape(s->second) + "&";
    auto scope = ch.params.find("scope");
    url += "scope=" + escape(scope != ch.params.end() ? scope->second : fmt::format("repository:{}:pull", ref_.path));
    Transfer t;
    t.keep_body = true;
    curl_slist* headers = nullptr;
    if (creds) headers = curl_slist_append(headers, ("Authorization: Basic " + base64_encode(creds->username + ":" + creds->password)).c_str());
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> owned(headers, curl_slist_free_all);
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!o_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o_.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    const CURLcode code = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK) return make_error(Errc::protocol, fmt::format("token from '{}': {}", realm->second, curl_easy_strerror(code)));
    if (status != 200)
      return make_error(Errc::conflict, fmt::format("token from '{}': HTTP {}{}", realm->second, status,
                                                    creds ? " (the credentials were refused)" : " (no credentials)"));
    boost::system::error_code ec;
    auto doc = json::parse(t.answer.body, ec);
    const auto* o = ec ? nullptr : doc.if_object();
    const json::value* token = o ? o->if_contains("token") : nullptr;
    if (!token || !token->is_string() || token->get_string().empty()) token = o ? o->if_contains("access_token") : nullptr;
    if (!token || !token->is_string() || token->get_string().empty())
      return make_error(Errc::protocol, fmt::format("token from '{}': the answer holds no token", realm->second));
    std::lock_guard lock(mutex_);
    authorization_ = "Bearer " + std::string(token->get_string());
    return {};
  }

  Reference ref_;
  const PullOptions& o_;
  std::string host_;
  bool plain_allowed_ = false;
  bool plain_ = false;
  std::mutex mutex_;
  std::string authorization_;  // shared by the layers' threads
};

/// Pieces of one download on their way from libcurl's thread to the unpacker.
class Pipe {
public:
  /// The download side: false once the reader has given up.
  bool push(std::string_view piece) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return queued_ < kRoom || closed_; });
    if (closed_) return false;
    queued_ += piece.size();
    q_.emplace_back(piece);
    cv_.notify_all();
    return true;
  }
  void finish(std::optional<core::Error> error) {
    std::lock_guard lock(m_);
    done_ = true;
    error_ = std::move(error);
    cv_.notify_all();
  }
  /// The reader side: a piece, empty at the end.
  Result<std::string_view> pop() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return !q_.empty() || done_; });
    if (q_.empty()) {
      if (error_) return *error_;
      return std::string_view();
    }
    current_ = std::move(q_.front());
    q_.pop_front();
    queued_ -= current_.size();
    cv_.notify_all();
    return std::string_view(current_);
  }
  void close() {
    std::lock_guard lock(m_);
    closed_ = true;
    cv_.notify_all();
  }

private:
  static constexpr std::size_t kRoom = std::size_t{1} << 20;  // what may wait between the two threads
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::string> q_;
  std::string current_;
  std::size_t queued_ = 0;
  bool done_ = false, closed_ = false;
  std::optional<core::Error> error_;
};

const std::vector<std::string>& manifest_types() {
  static const std::vector<std::string> t{std::string(media::kOciIndex), std::string(media::kOciManifest),
                                          std::string(media::kDockerList), std::string(media::kDockerManifest)};
  return t;
}

}  // namespace

Result<StoredImage> pull(const Store& store, const Reference& ref, const PullOptions& o) {
  const std::string name = ref.to_string();
  const std::string what = fmt::format("pull '{}'", ref.familiar());
  auto say = [&](const std::string& line) {
    if (o.status) o.status(line);
  };
  Registry registry(ref, o);
  // The manifest: by digest when pinned, else by tag.
  const std::string wanted = ref.digest.empty() ? ref.tag : ref.digest;
  say(fmt::format("resolving {}", ref.familiar()));
  auto top = registry.fetch(what, "/manifests/" + wanted, manifest_types());
  if (!top) return std::move(top).error().wrap(what);
  std::string body = std::move(top->body);
  std::string digest = sha256_digest(body);
  if (!ref.digest.empty() && digest != ref.digest)
    return make_error(Errc::protocol, fmt::format("{}: the registry's manifest has digest {}", what, digest));
  if (auto said = top->headers.find("docker-content-digest"); said != top->headers.end() && said->second != digest)
    return make_error(Errc::protocol, fmt::format("{}: the manifest is not the {} the registry names", what, said->second));
  std::string media_type = top->headers["content-type"];
  auto kind = document_kind(body, media_type);
  if (!kind) return std::move(kind).error().wrap(what);
  if (*kind == DocumentKind::Index) {
    auto index = parse_index(body);
    if (!index) return std::move(index).error().wrap(what);
    auto chosen = select_platform(*index, o.platform);
    if (!chosen) return std::move(chosen).error().wrap(what);
    auto m = registry.fetch(what, "/manifests/" + chosen->digest, manifest_types());
    if (!m) return std::move(m).error().wrap(what);
    body = std::move(m->body);
    digest = chosen->digest;
    if (sha256_digest(body) != digest)
      return make_error(Errc::protocol, fmt::format("{}: manifest {} does not match its digest", what, digest));
    media_type = chosen->media_type;
  }
  auto manifest = parse_manifest(body);
  if (!manifest) return std::move(manifest).error().wrap(what);
  if (media_type.empty()) media_type = manifest->media_type.empty() ? std::string(media::kOciManifest) : manifest->media_type;
  media_type = media_type.substr(0, media_type.find(';'));
  // The config: small, fetched whole, checked by its digest on the way in.
  if (!store.has_blob(manifest->config.digest)) {
    auto c = registry.fetch(what, "/blobs/" + manifest->config.digest, {});
    if (!c) return std::move(c).error().wrap(what + ": config");
    auto put = store.put_blob(c->body, manifest->config.media_type);
    if (!put) return std::move(put).error().wrap(what);
    if (put->digest != manifest->config.digest)
      return make_error(Errc::protocol, fmt::format("{}: config {} does not match its digest", what, manifest->config.digest));
  }
  const Descriptor manifest_desc{media_type, digest, static_cast<std::int64_t>(body.size()), {}, {}};
  auto plan = plan_image(store, manifest_desc, body);
  if (!plan) return std::move(plan).error().wrap(what);

  // The layers, `parallel` at a time; the first failure stops the rest.
  std::vector<const LayerPlan*> todo;
  for (const auto& l : plan->layers) {
    if (l.present) say(fmt::format("layer {} already present", l.blob.digest));
    else todo.push_back(&l);
  }
  std::mutex m;
  std::size_t next = 0;
  std::optional<core::Error> failure;
  auto worker = [&] {
    for (;;) {
      const LayerPlan* layer = nullptr;
      {
        std::lock_guard lock(m);
        if (failure || next >= todo.size()) return;
        layer = todo[next++];
      }
      std::unique_ptr<Pipe> pipe;
      std::thread download;
      auto open = [&](std::int64_t offset) -> Result<ByteSource> {
        pipe = std::make_unique<Pipe>();
        download = std::thread([&, offset] {
          auto r = registry.stream(fmt::format("{}: layer {}", what, layer->blob.digest), layer->blob.digest, offset,
                                   [&](std::string_view piece) { return pipe->push(piece); });
          pipe->finish(r ? std::nullopt : std::optional<core::Error>(r.error()));
        });
        return ByteSource([&]() { return pipe->pop(); });
      };
      auto r = store.has_blob(layer->blob.digest)
                   ? install_layer(store, *layer, file_source(store.blob_path(layer->blob.digest)), o.progress)
                   : install_layer(store, *layer, open, o.progress);
      if (pipe) pipe->close();
      if (download.joinable()) download.join();
      if (!r) {
        std::lock_guard lock(m);
        if (!failure) failure = std::move(r).error();
        return;
      }
    }
  };
  std::vector<std::thread> workers;
  for (unsigned i = 0; i < std::max(1u, std::min<unsigned>(o.parallel, static_cast<unsigned>(todo.size()))); ++i)
    workers.emplace_back(worker);
  for (auto& w : workers) w.join();
  if (failure) return std::move(*failure).wrap(what);
  auto stored = finish_image(store, *plan, name);
  if (!stored) return std::move(stored).error().wrap(what);
  say(fmt::format("pulled {} ({})", ref.familiar(), digest));
  return stored;
}

}  // namespace berth::runtime::image
