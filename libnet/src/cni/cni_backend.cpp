// SPDX-License-Identifier: Apache-2.0
#include "berth/net/cni/cni_backend.hpp"

#include "berth/core/error_list.hpp"
#include "berth/core/fs.hpp"
#include "berth/core/names.hpp"
#include "berth/core/netns.hpp"
#include "berth/core/process.hpp"
#include "berth/net/cni/cni.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <unistd.h>

namespace berth::net {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

/// A network configuration list as loaded from disk.
struct NetworkList {
  fs::path file;
  std::string name;
  std::string cni_version;
  std::vector<json::object> plugins;
};

Result<NetworkList> parse_list(const fs::path& file, const std::string& text) {
  auto bad = [&](std::string_view why) {
    return make_error(Errc::invalid_argument, fmt::format("CNI configuration '{}': {}", file.string(), why));
  };
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return bad(fmt::format("not JSON: {}", ec.message()));
  json::object* root = doc.if_object();
  if (!root) return bad("not a JSON object");
  NetworkList list;
  list.file = file;
  auto str = [&](const json::object& o, std::string_view k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
  };
  list.name = str(*root, "name");
  list.cni_version = str(*root, "cniVersion");
  if (list.name.empty()) return bad("'name' is missing");
  if (list.cni_version.empty()) return bad("'cniVersion' is missing");
  if (!cni::is_supported(list.cni_version))
    return bad(fmt::format("cniVersion {} is not supported", list.cni_version));
  if (file.extension() == ".conflist") {
    auto it = root->find("plugins");
    const json::array* plugins = it == root->end() ? nullptr : it->value().if_array();
    if (!plugins || plugins->empty()) return bad("'plugins' must be a non-empty list");
    for (const auto& p : *plugins) {
      if (!p.is_object()) return bad("a plugin is not an object");
      list.plugins.push_back(p.get_object());
    }
  } else {
    list.plugins.push_back(*root);  // a single-plugin .conf
  }
  for (const auto& p : list.plugins) {
    std::string type = str(p, "type");
    if (type.empty()) return bad("a plugin has no 'type'");
    if (type.find('/') != std::string::npos || type == "." || type == "..")
      return bad(fmt::format("plugin type '{}' is not a plain name", type));
  }
  return list;
}

std::string type_of(const json::object& plugin) { return std::string(plugin.at("type").get_string()); }

class CniBackend final : public Backend {
public:
  explicit CniBackend(CniBackendOptions o) : o_(std::move(o)) {}

  Result<void> open() {
    if (o_.network.empty()) return make_error(Errc::invalid_argument, "no CNI network name given");
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(o_.conf_dir, ec)) {
      auto ext = e.path().extension();
      if (ext == ".conflist" || ext == ".conf" || ext == ".json") files.push_back(e.path());
    }
    if (ec) return core::errno_error(ec.value(), fmt::format("read CNI configuration directory '{}'", o_.conf_dir.string()));
    std::sort(files.begin(), files.end());  // lexical order: the first with the name wins
    for (const auto& f : files) {
      auto text = core::read_file(f);
      if (!text) return text.error();
      auto list = parse_list(f, *text);
      if (!list) {
        // A broken file of another network must not stop this one; one that
        // might be ours is reported.
        if (text->find('"' + o_.network + '"') != std::string::npos) return list.error();
        continue;
      }
      if (list->name == o_.network) {
        list_ = std::move(*list);
        break;
      }
    }
    if (!list_)
      return make_error(Errc::not_found, fmt::format("CNI network '{}' is not configured in '{}'", o_.network,
                                                     o_.conf_dir.string()));
    for (const auto& p : list_->plugins) {
      auto exe = find_plugin(type_of(p));
      if (!exe) return exe.error();
    }
    return {};
  }

  std::string_view driver() const override { return "cni"; }

  Result<void> ensure_network() override {
    if (negotiated_) return {};
    // VERSION negotiation, once per plugin.
    for (const auto& p : list_->plugins) {
      auto exe = find_plugin(type_of(p));
      if (!exe) return exe.error();
      auto out = exec(*exe, "VERSION", {}, {}, {},
                      json::serialize(json::object{{"cniVersion", list_->cni_version}}));
      if (!out) return std::move(out).error().wrap(fmt::format("plugin '{}'", type_of(p)));
      boost::system::error_code ec;
      json::value v = json::parse(*out, ec);
      const json::object* o = ec ? nullptr : v.if_object();
      auto it = o ? o->find("supportedVersions") : nullptr;
      const json::array* versions = (o && it != o->end()) ? it->value().if_array() : nullptr;
      if (!versions)
        return make_error(Errc::protocol, fmt::format("plugin '{}' answered VERSION with something else", type_of(p)));
      if (std::none_of(versions->begin(), versions->end(),
                       [&](const json::value& x) { return x.is_string() && x.get_string() == list_->cni_version; }))
        return make_error(Errc::conflict, fmt::format("plugin '{}' does not support CNI version {}", type_of(p),
                                                      list_->cni_version));
    }
    negotiated_ = true;
    return {};
  }

  Result<Attachment> setup(const SetupRequest& req) override {
    const std::string what = fmt::format("attach container '{}' to CNI network '{}'", req.container_id, o_.network);
    if (auto v = core::validate_container_id(req.container_id); !v) return std::move(v).error().wrap(what);
    if (o_.internal && o_.warn)
      o_.warn(fmt::format("network '{}' is internal, but CNI plugins cannot enforce that: its containers may reach "
                          "other networks", o_.network));
    if (auto r = ensure_network(); !r) return std::move(r).error().wrap(what);
    if (auto fd = core::open_netns(req.netns); !fd) return std::move(fd).error().wrap(what);
    json::array mappings;
    for (const auto& m : req.ports) {
      if (auto v = validate(m); !v) return std::move(v).error().wrap(what);
      for (int i = 0; i < m.count; ++i) {
        json::object pm{{"hostPort", m.host_port + i},
                        {"containerPort", m.container_port + i},
                        {"protocol", std::string(protocol_name(m.protocol))}};
        if (m.host_address) pm["hostIP"] = m.host_address->to_string();
        mappings.push_back(std::move(pm));
      }
    }
    json::object runtime{{"portMappings", std::move(mappings)}};
    std::optional<json::value> prev;
    for (std::size_t i = 0; i < list_->plugins.size(); ++i) {
      auto out = call(i, "ADD", req.container_id, req.netns.string(), req.ifname, runtime, prev);
      if (!out) {
        // Roll back what the chain did so far (DEL tolerates what is missing).
        for (std::size_t j = i + 1; j-- > 0;)
          (void)call(j, "DEL", req.container_id, req.netns.string(), req.ifname, runtime, prev);
        return std::move(out).error().wrap(what);
      }
      boost::system::error_code ec;
      prev = json::parse(*out, ec);
      if (ec) {
        for (std::size_t j = i + 1; j-- > 0;)
          (void)call(j, "DEL", req.container_id, req.netns.string(), req.ifname, runtime, std::nullopt);
        return make_error(Errc::protocol, fmt::format("{}: plugin '{}' printed a result that is not JSON", what,
                                                      type_of(list_->plugins[i])));
      }
    }
    const std::string result_text = prev ? json::serialize(*prev) : std::string("{}");
    auto result = cni::parse_result(result_text);
    if (!result) return std::move(result).error().wrap(what);
    json::object cache{{"kind", "cniCacheV1"},     {"containerId", req.container_id}, {"ifName", req.ifname},
                       {"networkName", o_.network}, {"netns", req.netns.string()},  {"result", *prev},
                       {"runtimeConfig", runtime}};
    if (auto r = write_cache(req.container_id, req.ifname, json::serialize(cache)); !r)
      return std::move(r).error().wrap(what);
    return to_attachment(*result, req);
  }

  Result<void> check(const SetupRequest& req) override {
    const std::string what = fmt::format("check container '{}' on CNI network '{}'", req.container_id, o_.network);
    if (list_->cni_version.starts_with("0.3"))
      return make_error(Errc::invalid_argument, fmt::format("{}: CHECK needs CNI 0.4.0 or later", what));
    auto cached = read_cache(req.container_id, req.ifname);
    if (!cached) return std::move(cached).error().wrap(what);
    if (!*cached) return make_error(Errc::not_found, fmt::format("{}: the container is not attached", what));
    for (std::size_t i = 0; i < list_->plugins.size(); ++i)
      if (auto out = call(i, "CHECK", req.container_id, req.netns.string(), req.ifname, (*cached)->runtime, (*cached)->result);
          !out)
        return std::move(out).error().wrap(what);
    return {};
  }

  Result<std::vector<Attachment>> attachments() override {
    std::vector<Attachment> out;
    std::error_code ec;
    const fs::path dir = o_.state_dir / "results";
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      auto text = core::read_file(e.path());
      if (!text) continue;
      boost::system::error_code jec;
      json::value v = json::parse(*text, jec);
      const json::object* o = jec ? nullptr : v.if_object();
      if (!o || !o->contains("networkName") || o->at("networkName") != json::value(o_.network)) continue;
      auto result = cni::parse_result(json::serialize(o->at("result")));
      if (!result) continue;
      SetupRequest req;
      req.container_id = std::string(o->at("containerId").as_string());
      req.ifname = std::string(o->at("ifName").as_string());
      if (auto it = o->find("netns"); it != o->end() && it->value().is_string()) req.netns = std::string(it->value().get_string());
      out.push_back(to_attachment(*result, req));
    }
    return out;
  }

  Result<void> teardown(const TeardownRequest& req) override {
    const std::string what = fmt::format("detach container '{}' from CNI network '{}'", req.container_id, o_.network);
    if (auto v = core::validate_container_id(req.container_id); !v) return std::move(v).error().wrap(what);
    auto cached = read_cache(req.container_id, req.ifname);
    if (!cached) return std::move(cached).error().wrap(what);
    json::object runtime;
    std::optional<json::value> prev;
    if (*cached) {
      runtime = (*cached)->runtime;
      prev = (*cached)->result;
    }
    core::ErrorList errors;
    for (std::size_t i = list_->plugins.size(); i-- > 0;)
      errors.add_if(call(i, "DEL", req.container_id, req.netns.string(), req.ifname, runtime, prev));
    if (auto r = errors.result(what); !r) return r;
    if (::unlink(cache_path(req.container_id, req.ifname).c_str()) != 0 && errno != ENOENT)
      return core::errno_error(errno, fmt::format("{}: remove cached result", what));
    return {};
  }

  Result<void> remove_network() override {
    // CNI plugins have no verb for it: a network is its configuration file,
    // which is the operator's. What berth holds of it is the cached results.
    auto attached = attachments();
    if (!attached) return attached.error();
    if (!attached->empty())
      return make_error(Errc::conflict,
                        fmt::format("remove CNI network '{}': {} container(s) are attached, the first '{}'", o_.network,
                                    attached->size(), attached->front().container_id));
    return {};
  }

private:
  struct Cached {
    json::object runtime;
    json::value result;
  };

  Result<fs::path> find_plugin(const std::string& type) const {
    for (const auto& dir : o_.bin_dirs) {
      fs::path p = dir / type;
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
    std::string dirs;
    for (const auto& d : o_.bin_dirs) dirs += (dirs.empty() ? "" : ":") + d.string();
    return make_error(Errc::not_found, fmt::format("CNI plugin '{}' is not in {}", type, dirs));
  }

  /// Runs one plugin binary; a non-zero exit becomes one error with the
  /// plugin's own message, code and details.
  Result<std::string> exec(const fs::path& exe, const std::string& command, const std::string& id,
                           const std::string& netns, const std::string& ifname, const std::string& config) const {
    std::string cni_path;
    for (const auto& d : o_.bin_dirs) cni_path += (cni_path.empty() ? "" : ":") + d.string();
    std::vector<std::string> env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                    "CNI_COMMAND=" + command, "CNI_CONTAINERID=" + id, "CNI_NETNS=" + netns,
                                    "CNI_IFNAME=" + ifname,   "CNI_ARGS=IgnoreUnknown=1", "CNI_PATH=" + cni_path};
    auto r = core::run({.program = exe, .args = {}, .env = env, .stdin_data = config, .timeout = o_.plugin_timeout});
    if (!r) return r.error();
    if (r->success()) return std::move(r->out);
    if (auto err = cni::parse_error(r->out)) {
      std::string msg = err->msg.empty() ? "failed" : err->msg;
      if (!err->details.empty()) msg += fmt::format(" ({})", err->details);
      return make_error(Errc::child_failed, fmt::format("{} (CNI error {})", msg, err->code));
    }
    std::string tail = r->err.empty() ? r->out : r->err;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    return make_error(Errc::child_failed, fmt::format("exit code {}{}", r->exit_code, tail.empty() ? "" : ": " + tail));
  }

  /// Runs plugin `i` of the chain with its config, name, cniVersion,
  /// prevResult and the runtimeConfig of the capabilities it declares.
  Result<std::string> call(std::size_t i, const std::string& command, const std::string& id,
                           const std::string& netns, const std::string& ifname, const json::object& runtime,
                           const std::optional<json::value>& prev) const {
    json::object conf = list_->plugins[i];
    const std::string type = type_of(conf);
    conf["name"] = list_->name;
    conf["cniVersion"] = list_->cni_version;
    if (prev) conf["prevResult"] = *prev;
    else conf.erase("prevResult");
    json::object rc;
    if (auto it = conf.find("capabilities"); it != conf.end() && it->value().is_object())
      for (const auto& [cap, on] : it->value().get_object())
        if (on.is_bool() && on.get_bool())
          if (auto v = runtime.find(cap); v != runtime.end()) rc[cap] = v->value();
    if (!rc.empty()) conf["runtimeConfig"] = std::move(rc);
    auto exe = find_plugin(type);
    if (!exe) return exe.error();
    auto out = exec(*exe, command, id, netns, ifname, json::serialize(conf));
    if (!out) return std::move(out).error().wrap(fmt::format("plugin '{}' {}", type, command));
    return out;
  }

  fs::path cache_path(const std::string& id, const std::string& ifname) const {
    return o_.state_dir / "results" / fmt::format("{}-{}-{}", o_.network, id, ifname);
  }

  Result<void> write_cache(const std::string& id, const std::string& ifname, const std::string& text) const {
    if (auto r = core::make_directories(o_.state_dir / "results", 0700); !r) return r;
    return core::write_file_atomic(cache_path(id, ifname), text, 0600);
  }

  Result<std::optional<Cached>> read_cache(const std::string& id, const std::string& ifname) const {
    auto text = core::read_file(cache_path(id, ifname));
    if (!text) {
      if (text.error().code == std::errc::no_such_file_or_directory) return std::optional<Cached>{};
      return text.error();
    }
    boost::system::error_code ec;
    json::value v = json::parse(*text, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    if (!o || !o->contains("result"))
      return make_error(Errc::corrupt, fmt::format("cached CNI result '{}' is corrupt", cache_path(id, ifname).string()));
    Cached c;
    c.result = o->at("result");
    if (auto it = o->find("runtimeConfig"); it != o->end() && it->value().is_object()) c.runtime = it->value().get_object();
    return std::optional<Cached>(std::move(c));
  }

  Attachment to_attachment(const cni::Result& r, const SetupRequest& req) const {
    Attachment a;
    a.container_id = req.container_id;
    a.network = o_.network;
    a.ifname = req.ifname;
    a.netns = req.netns;
    a.ports = req.ports;
    a.hostname = req.hostname;
    a.aliases = req.aliases;
    for (const auto& i : r.interfaces) {
      if (i.sandbox.empty() && a.host_veth.empty()) a.host_veth = i.name;
      if (!i.sandbox.empty() && i.name == req.ifname) a.mac = i.mac;
    }
    for (const auto& ip : r.ips) {
      a.addresses.push_back(ip.address);
      if (ip.gateway) a.gateways.push_back(*ip.gateway);
    }
    return a;
  }

  CniBackendOptions o_;
  std::optional<NetworkList> list_;
  bool negotiated_ = false;
};

}  // namespace

Result<std::unique_ptr<Backend>> make_cni_backend(CniBackendOptions options) {
  const std::string name = options.network;
  auto b = std::make_unique<CniBackend>(std::move(options));
  if (auto r = b->open(); !r) return std::move(r).error().wrap(fmt::format("open CNI network '{}'", name));
  return std::unique_ptr<Backend>(std::move(b));
}

}  // namespace berth::net
