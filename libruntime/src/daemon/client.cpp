// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/client.hpp"

#include "berth/core/http.hpp"
#include "berth/runtime/daemon/run_request.hpp"
#include "spec_json.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace berth::runtime::daemon {

namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

Result<std::filesystem::path> resolve_host(std::string_view flag, std::string_view env) {
  std::string_view host = !flag.empty() ? flag : env;
  if (host.empty()) return std::filesystem::path(kDefaultSocket);
  if (host.starts_with("unix://")) host.remove_prefix(7);
  if (host.empty() || host.front() != '/')
    return make_error(Errc::invalid_argument,
                      fmt::format("host '{}' is not a unix socket (a path, or unix:///path); berthd has no TCP listener",
                                  !flag.empty() ? flag : env));
  return std::filesystem::path(host);
}

namespace {

std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

/// The daemon's error answer as berth's error: its code back to an Errc, its message as it is.
core::Error api_failure(const core::http::Response& r) {
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  const json::object* e = nullptr;
  if (!ec && v.is_object())
    if (const auto* x = v.get_object().if_contains("error")) e = x->if_object();
  if (!e) return make_error(Errc::protocol, fmt::format("berthd answered {} {}", r.status, core::http::reason(r.status)));
  const std::string code = str(*e, "code");
  Errc errc = Errc::protocol;
  if (code == "invalid_argument" || code == "body_too_large" || code == "method_not_allowed") errc = Errc::invalid_argument;
  else if (code == "not_found") errc = Errc::not_found;
  else if (code == "already_exists") errc = Errc::already_exists;
  else if (code == "conflict") errc = Errc::conflict;
  else if (code == "exhausted") errc = Errc::exhausted;
  else if (code == "timed_out") errc = Errc::timed_out;
  return make_error(errc, str(*e, "message"));
}

Result<json::object> call(const std::filesystem::path& socket, std::string method, std::string target,
                          std::string body = {}, std::chrono::milliseconds timeout = std::chrono::minutes(10)) {
  core::http::Request req{.method = std::move(method), .target = std::move(target), .body = std::move(body)};
  if (!req.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  auto r = core::http::request(socket, req, {.timeout = timeout});
  if (!r) {
    if (r.error().code == std::errc::no_such_file_or_directory || r.error().code == std::errc::connection_refused)
      return make_error(Errc::not_found, fmt::format("berthd does not answer on '{}' (is it running?)", socket.string()));
    return r.error();
  }
  if (r->status != 200) return api_failure(*r);
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return make_error(Errc::protocol, "berthd's answer is not a JSON object");
  return std::move(v.get_object());
}

/// Reads an NDJSON stream line by line; `on_line` gets each object.
Result<void> stream_lines(const std::filesystem::path& socket, std::string method, std::string target, std::string body,
                          const std::function<bool(const json::object&)>& on_line) {
  core::http::Request req{.method = std::move(method), .target = std::move(target), .body = std::move(body)};
  if (!req.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  // The status is known only once the call returns: the body's start is kept
  // as well, for an error answer (one JSON document) to be read whole.
  constexpr std::size_t kErrorBody = 64 << 10;
  std::string pending, head;
  bool bad_line = false;
  auto r = core::http::request_streaming(socket, req, [&](std::string_view data) {
    if (head.size() < kErrorBody) head.append(data.substr(0, kErrorBody - head.size()));
    pending.append(data);
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      boost::system::error_code ec;
      auto v = json::parse(std::string_view(pending).substr(start, nl - start), ec);
      if (ec || !v.is_object()) {
        bad_line = true;
        return false;
      }
      if (!on_line(v.get_object())) return false;
    }
    pending.erase(0, start);
    return true;
  });
  if (!r) {
    if (r.error().code == std::errc::no_such_file_or_directory || r.error().code == std::errc::connection_refused)
      return make_error(Errc::not_found, fmt::format("berthd does not answer on '{}' (is it running?)", socket.string()));
    return r.error();
  }
  if (r->status != 200) {
    core::http::Response whole = *r;
    whole.body = head;
    return api_failure(whole);
  }
  if (bad_line) return make_error(Errc::protocol, "berthd's stream holds a line that is not a JSON object");
  return {};
}

ContainerInfo container_of(const json::object& o) {
  ContainerInfo c;
  c.id = str(o, "id");
  c.image = str(o, "image");
  c.status = str(o, "status");
  c.health = str(o, "health");
  c.ip = str(o, "ip");
  if (const auto* v = o.if_contains("exit_code"); v && v->is_int64()) c.exit_code = static_cast<int>(v->get_int64());
  if (const auto* v = o.if_contains("pid"); v && v->is_int64()) c.pid = v->get_int64();
  if (const auto* v = o.if_contains("restarts"); v && v->is_int64()) c.restarts = static_cast<unsigned>(v->get_int64());
  if (const auto* v = o.if_contains("created"); v && v->is_int64()) c.created = v->get_int64();
  if (const auto* v = o.if_contains("ports"); v && v->is_array())
    for (const auto& p : v->get_array())
      if (p.is_string()) c.ports.emplace_back(p.get_string());
  c.json = json::serialize(o);
  return c;
}

RunEvent event_of(const json::object& o) {
  RunEvent e;
  e.phase = str(o, "phase");
  e.message = str(o, "message");
  e.digest = str(o, "digest");
  if (const auto* v = o.if_contains("current"); v && v->is_int64()) e.current = v->get_int64();
  if (const auto* v = o.if_contains("total"); v && v->is_int64()) e.total = v->get_int64();
  return e;
}

/// The error line that ends a failed stream, as an error.
core::Error stream_error(const json::object& o) {
  core::http::Response r{.status = 500, .body = json::serialize(o)};
  return api_failure(r);
}

std::string path_of(std::string_view id) {
  // Ids are plain names; anything else is escaped so the daemon answers 404, not a different route.
  std::string out;
  for (unsigned char c : id) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace

Result<void> Client::ping() const {
  auto r = call(socket_, "GET", "/v1/ping", {}, std::chrono::seconds(10));
  if (!r) return r.error();
  return {};
}

Result<std::string> Client::version() const {
  auto r = call(socket_, "GET", "/v1/version", {}, std::chrono::seconds(10));
  if (!r) return r.error();
  return json::serialize(*r);
}

Result<std::vector<ContainerInfo>> Client::list() const {
  auto r = call(socket_, "GET", "/v1/containers?detail=1");
  if (!r) return r.error();
  std::vector<ContainerInfo> out;
  if (const auto* items = r->if_contains("items"); items && items->is_array())
    for (const auto& i : items->get_array())
      if (i.is_object()) out.push_back(container_of(i.get_object()));
  return out;
}

Result<ContainerInfo> Client::inspect(const std::string& id) const {
  auto r = call(socket_, "GET", "/v1/containers/" + path_of(id));
  if (!r) return r.error();
  return container_of(*r);
}

Result<std::string> Client::run(const WorkloadSpec& spec, const std::function<void(const RunEvent&)>& on_event) const {
  json::object body = spec_json(spec);
  body["stream"] = true;
  std::string id;
  std::optional<core::Error> failed;
  auto r = stream_lines(socket_, "POST", "/v1/containers/run", json::serialize(body), [&](const json::object& o) {
    const std::string phase = str(o, "phase");
    if (phase == "run") id = str(o, "container_id");
    else if (phase == "error") failed = stream_error(o);
    else if (on_event) on_event(event_of(o));
    return true;
  });
  if (!r) return r.error();
  if (failed) return *failed;
  if (id.empty()) return make_error(Errc::protocol, "berthd's run stream ended without the container's id");
  return id;
}

Result<int> Client::stop(const std::string& id, std::optional<int> grace) const {
  std::string target = "/v1/containers/" + path_of(id) + "/stop";
  if (grace) target += fmt::format("?t={}", *grace);
  auto r = call(socket_, "POST", target);
  if (!r) return r.error();
  const auto* code = r->if_contains("exit_code");
  return code && code->is_int64() ? static_cast<int>(code->get_int64()) : 0;
}

Result<void> Client::kill(const std::string& id, const std::string& signal) const {
  auto r = call(socket_, "POST", "/v1/containers/" + path_of(id) + "/kill",
                json::serialize(json::object{{"signal", signal}}));
  if (!r) return r.error();
  return {};
}

Result<void> Client::remove(const std::string& id, bool force) const {
  auto r = call(socket_, "POST", "/v1/containers/" + path_of(id) + "/remove" + (force ? "?force=1" : ""));
  if (!r) return r.error();
  return {};
}

Result<int> Client::wait(const std::string& id) const {
  // A container may run for ever: no deadline past the connection.
  auto r = call(socket_, "POST", "/v1/containers/" + path_of(id) + "/wait", {}, std::chrono::hours(24 * 365));
  if (!r) return r.error();
  const auto* code = r->if_contains("exit_code");
  if (!code || !code->is_int64()) return make_error(Errc::protocol, "berthd's wait answer has no exit code");
  return static_cast<int>(code->get_int64());
}

Result<container::ExecResult> Client::exec(const std::string& id, const std::vector<std::string>& cmd,
                                           std::optional<std::chrono::milliseconds> timeout) const {
  json::array argv;
  for (const auto& a : cmd) argv.emplace_back(a);
  json::object body{{"cmd", std::move(argv)}};
  if (timeout) body["timeout"] = fmt::format("{}ms", timeout->count());
  auto r = call(socket_, "POST", "/v1/containers/" + path_of(id) + "/exec", json::serialize(body),
                std::chrono::hours(24 * 365));
  if (!r) return r.error();
  const auto* code = r->if_contains("exit_code");
  if (!code || !code->is_int64()) return make_error(Errc::protocol, "berthd's exec answer has no exit code");
  return container::ExecResult{.exit_code = static_cast<int>(code->get_int64()), .out = str(*r, "stdout"),
                               .err = str(*r, "stderr")};
}

Result<void> Client::logs(const std::string& id, std::optional<std::size_t> tail, bool follow,
                          const std::function<bool(std::string_view, std::string_view)>& on_entry) const {
  std::string target = "/v1/containers/" + path_of(id) + "/logs?format=json";
  if (follow) target += "&follow=1";
  if (tail) target += fmt::format("&tail={}", *tail);
  return stream_lines(socket_, "GET", target, {}, [&](const json::object& o) {
    return on_entry(str(o, "stream"), str(o, "log"));
  });
}

Result<std::string> Client::pull(const std::string& ref, const std::function<void(const RunEvent&)>& on_event) const {
  std::string name;
  std::optional<core::Error> failed;
  auto r = stream_lines(socket_, "POST", "/v1/images/pull",
                        json::serialize(json::object{{"ref", ref}, {"stream", true}}), [&](const json::object& o) {
                          const std::string phase = str(o, "phase");
                          if (phase == "done") name = str(o, "ref");
                          else if (phase == "error") failed = stream_error(o);
                          else if (on_event) on_event(event_of(o));
                          return true;
                        });
  if (!r) return r.error();
  if (failed) return *failed;
  return name;
}

Result<std::vector<std::string>> Client::load(const std::filesystem::path& path, const std::string& name) const {
  json::object body{{"path", std::filesystem::absolute(path).lexically_normal().string()}};
  if (!name.empty()) body["name"] = name;
  auto r = call(socket_, "POST", "/v1/images/load", json::serialize(body));
  if (!r) return r.error();
  std::vector<std::string> out;
  if (const auto* v = r->if_contains("images"); v && v->is_array())
    for (const auto& n : v->get_array())
      if (n.is_string()) out.emplace_back(n.get_string());
  return out;
}

Result<std::vector<ImageInfo>> Client::images() const {
  auto r = call(socket_, "GET", "/v1/images");
  if (!r) return r.error();
  std::vector<ImageInfo> out;
  if (const auto* items = r->if_contains("items"); items && items->is_array())
    for (const auto& i : items->get_array()) {
      if (!i.is_object()) continue;
      const auto& o = i.get_object();
      ImageInfo info{str(o, "name"), str(o, "digest"), 0};
      if (const auto* s = o.if_contains("size"); s && s->is_int64()) info.size = s->get_int64();
      out.push_back(std::move(info));
    }
  return out;
}

Result<void> Client::remove_image(const std::string& ref, bool force) const {
  auto r = call(socket_, "POST", "/v1/images/remove", json::serialize(json::object{{"ref", ref}, {"force", force}}));
  if (!r) return r.error();
  return {};
}

// Rendering -------------------------------------------------------------------

std::string status_text(const ContainerInfo& c) {
  std::string s = c.status;
  if (c.status == "stopped") s = c.exit_code ? fmt::format("exited ({})", *c.exit_code) : "exited";
  if (!c.health.empty()) s += fmt::format(" ({})", c.health);
  return s;
}

namespace {

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string human_size(std::int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{}B", bytes) : fmt::format("{:.1f}{}", v, units[u]);
}

}  // namespace

std::string render_ps(const std::vector<ContainerInfo>& containers) {
  std::vector<std::vector<std::string>> rows{{"NAME", "IMAGE", "STATUS", "IP", "PORTS"}};
  for (const auto& c : containers) {
    std::string ports;
    for (const auto& p : c.ports) ports += (ports.empty() ? "" : ", ") + p;
    rows.push_back({c.id, c.image, status_text(c), c.ip, ports});
  }
  return table(rows);
}

std::string render_images(const std::vector<ImageInfo>& images) {
  std::vector<std::vector<std::string>> rows{{"NAME", "DIGEST", "SIZE"}};
  for (const auto& i : images) {
    std::string digest = i.digest.starts_with("sha256:") ? i.digest.substr(7, 12) : i.digest;
    rows.push_back({i.name, digest, human_size(i.size)});
  }
  return table(rows);
}

std::string PullDisplay::bars() const {
  std::string out;
  for (const auto& l : layers_) {
    const std::string id = l.digest.starts_with("sha256:") ? l.digest.substr(7, 12) : l.digest.substr(0, 12);
    constexpr int kWidth = 30;
    const int filled = l.total > 0 ? static_cast<int>(kWidth * std::min<double>(1.0, double(l.current) / double(l.total))) : 0;
    std::string bar(static_cast<std::size_t>(filled), '=');
    if (filled < kWidth) bar += '>' + std::string(static_cast<std::size_t>(kWidth - filled - 1), ' ');
    out += fmt::format("\r\x1b[2K{}: [{}] {}/{}\n", id, bar, human_size(l.current), human_size(l.total));
  }
  return out;
}

std::string PullDisplay::update(const RunEvent& e) {
  if (e.phase == "layer") {
    auto it = std::find_if(layers_.begin(), layers_.end(), [&](const Layer& l) { return l.digest == e.digest; });
    if (it == layers_.end()) {
      layers_.push_back({e.digest, 0, e.total});
      it = layers_.end() - 1;
    }
    it->current = e.current;
    it->total = e.total;
    if (terminal_) {
      std::string out = drawn_ ? fmt::format("\x1b[{}A", drawn_) : std::string();
      out += bars();
      drawn_ = layers_.size();
      return out;
    }
    if (it->current >= it->total && !it->said_done) {
      it->said_done = true;
      return fmt::format("layer {}: {} done\n", it->digest, human_size(it->total));
    }
    return {};
  }
  if (e.phase == "pull") return e.message + "\n";
  if (e.phase == "pulled") return fmt::format("pulled {} ({})\n", e.message, e.digest);
  return {};
}

Result<std::vector<std::string>> parse_env_file(std::string_view text,
                                                const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  std::vector<std::string> out;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    if (line.find('\0') != std::string_view::npos)
      return make_error(Errc::invalid_argument, fmt::format("env file line {}: holds a NUL character", number));
    const auto eq = line.find('=');
    std::string key(line.substr(0, eq));
    if (key.empty()) return make_error(Errc::invalid_argument, fmt::format("env file line {}: no variable name before '='", number));
    if (key.find_first_of(" \t") != std::string::npos)
      return make_error(Errc::invalid_argument, fmt::format("env file line {}: variable '{}' contains whitespace", number, key));
    if (eq == std::string_view::npos) {
      if (lookup)
        if (auto v = lookup(key)) out.push_back(key + "=" + *v);
      continue;
    }
    out.emplace_back(line);
  }
  return out;
}

}  // namespace berth::runtime::daemon
