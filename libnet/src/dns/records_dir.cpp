// SPDX-License-Identifier: Apache-2.0
#include "berth/net/dns/records_dir.hpp"

#include "berth/core/fs.hpp"
#include "berth/core/unique_fd.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace berth::net::dns {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

core::Error bad(std::string_view what) { return make_error(Errc::invalid_argument, std::string(what)); }

Result<std::string> get_string(const json::object& o, std::string_view key, bool required) {
  auto it = o.find(key);
  if (it == o.end()) {
    if (required) return bad(fmt::format("'{}' is missing", key));
    return std::string();
  }
  if (!it->value().is_string()) return bad(fmt::format("'{}' must be a string", key));
  return std::string(it->value().get_string());
}

Result<std::vector<std::string>> get_strings(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end()) return out;
  const json::array* a = it->value().if_array();
  if (!a) return bad(fmt::format("'{}' must be a list of strings", key));
  for (const auto& v : *a) {
    if (!v.is_string()) return bad(fmt::format("'{}' must be a list of strings", key));
    out.emplace_back(v.get_string());
  }
  return out;
}

template <class T, class F>
Result<std::vector<T>> each(const json::object& o, std::string_view key, F&& parse_one) {
  std::vector<T> out;
  auto it = o.find(key);
  if (it == o.end()) return out;
  const json::array* a = it->value().if_array();
  if (!a) return bad(fmt::format("'{}' must be a list", key));
  for (const auto& v : *a) {
    const json::object* e = v.if_object();
    if (!e) return bad(fmt::format("an entry of '{}' is not an object", key));
    auto one = parse_one(*e);
    if (!one) return std::move(one).error().wrap(key);
    out.push_back(std::move(*one));
  }
  return out;
}

Result<std::uint16_t> get_u16(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::uint16_t{0};
  if (!it->value().is_int64() || it->value().get_int64() < 0 || it->value().get_int64() > 65535)
    return bad(fmt::format("'{}' must be a number from 0 to 65535", key));
  return static_cast<std::uint16_t>(it->value().get_int64());
}

}  // namespace

Result<NetworkRecords> parse_network_records(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return bad(fmt::format("not JSON: {}", ec.message()));
  const json::object* o = doc.if_object();
  if (!o) return bad("not a JSON object");
  NetworkRecords n;
  auto name = get_string(*o, "name", true);
  if (!name) return name.error();
  n.name = *name;
  auto listen = get_strings(*o, "listen");
  if (!listen) return listen.error();
  for (const auto& a : *listen) {
    auto ip = parse_address(a);
    if (!ip) return std::move(ip).error().wrap("listen");
    n.listen.push_back(*ip);
  }
  auto subnets = get_strings(*o, "subnets");
  if (!subnets) return subnets.error();
  for (const auto& s : *subnets) {
    auto sn = Subnet::parse(s);
    if (!sn) return std::move(sn).error().wrap("subnets");
    n.subnets.push_back(*sn);
  }
  if (auto it = o->find("internal"); it != o->end()) {
    if (!it->value().is_bool()) return bad("'internal' must be true or false");
    n.internal = it->value().get_bool();
  }
  auto containers = each<ContainerRecords>(*o, "containers", [](const json::object& e) -> Result<ContainerRecords> {
    ContainerRecords c;
    auto cname = get_string(e, "name", true);
    if (!cname) return cname.error();
    c.name = *cname;
    auto aliases = get_strings(e, "aliases");
    if (!aliases) return aliases.error();
    c.aliases = *aliases;
    auto addrs = get_strings(e, "addresses");
    if (!addrs) return addrs.error();
    for (const auto& a : *addrs) {
      auto ip = parse_address(a);
      if (!ip) return std::move(ip).error().wrap(fmt::format("container '{}'", c.name));
      c.addresses.push_back(*ip);
    }
    return c;
  });
  if (!containers) return containers.error();
  n.containers = std::move(*containers);
  auto srv = each<SrvRecord>(*o, "srv", [](const json::object& e) -> Result<SrvRecord> {
    SrvRecord s;
    auto sname = get_string(e, "name", true);
    auto target = get_string(e, "target", true);
    auto port = get_u16(e, "port");
    auto prio = get_u16(e, "priority");
    auto weight = get_u16(e, "weight");
    for (auto* r : {&sname, &target})
      if (!*r) return r->error();
    for (auto* r : {&port, &prio, &weight})
      if (!*r) return r->error();
    s.name = *sname;
    s.srv = Srv{*prio, *weight, *port, *target};
    return s;
  });
  if (!srv) return srv.error();
  n.srv = std::move(*srv);
  auto txt = each<TxtRecord>(*o, "txt", [](const json::object& e) -> Result<TxtRecord> {
    TxtRecord t;
    auto tname = get_string(e, "name", true);
    if (!tname) return tname.error();
    auto values = get_strings(e, "values");
    if (!values) return values.error();
    t.name = *tname;
    t.values = *values;
    return t;
  });
  if (!txt) return txt.error();
  n.txt = std::move(*txt);
  return n;
}

Result<std::vector<NetworkRecords>> load_records_dir(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (e.path().extension() == ".json") files.push_back(e.path());
  if (ec) return core::errno_error(ec.value(), fmt::format("read records directory '{}'", dir.string()));
  std::sort(files.begin(), files.end());
  std::vector<NetworkRecords> out;
  for (const auto& f : files) {
    auto text = core::read_file(f);
    if (!text) {
      if (text.error().code == std::errc::no_such_file_or_directory) continue;  // removed meanwhile
      return text.error();
    }
    auto n = parse_network_records(*text);
    if (!n) return std::move(n).error().wrap(fmt::format("records file '{}'", f.string()));
    out.push_back(std::move(*n));
  }
  return out;
}

Result<RecordsDirOptions> records_dir_options(const RecordsDirSettings& s) {
  auto range = [](std::string_view option, int value, int low, int high) -> Result<void> {
    if (value < low || value > high)
      return bad(fmt::format("{} {} is out of range {}-{}", option, value, low, high));
    return {};
  };
  if (s.records.empty()) return bad("--records is required");
  BERTH_TRY(range("--port", s.port, 1, 65535), "");
  BERTH_TRY(range("--ttl", s.ttl, 0, 604800), "");
  BERTH_TRY(range("--upstream-fallback-ms", s.upstream_fallback_ms, 10, 5000), "");
  BERTH_TRY(range("--busy-poll-us", s.busy_poll_us, 0, 100000), "");
  RecordsDirOptions o;
  o.dir = s.records;
  o.domain = s.domain;
  o.ttl = static_cast<std::uint32_t>(s.ttl);
  o.server.port = static_cast<std::uint16_t>(s.port);
  o.server.resolv_conf = s.resolv_conf;
  o.server.fallback_after = std::chrono::milliseconds(s.upstream_fallback_ms);
  o.server.busy_poll = std::chrono::microseconds(s.busy_poll_us);
  if (!s.upstreams.empty()) {
    std::vector<IpAddress> list;
    for (const auto& u : s.upstreams) {
      auto ip = parse_address(u);
      if (!ip) return std::move(ip).error().wrap("--upstream");
      list.push_back(*ip);
    }
    o.server.upstreams = std::move(list);
  }
  return o;
}

Result<void> serve_records_dir(const RecordsDirOptions& o, const RecordsDirControl& control) {
  core::UniqueFd ifd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!ifd) return core::errno_error(errno, "watch the records directory");
  if (::inotify_add_watch(ifd.get(), o.dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0)
    return core::errno_error(errno, fmt::format("watch records directory '{}'", o.dir.string()));

  auto tell = [&](RecordsDirEvent e) {
    if (o.on_event) o.on_event(e);
  };
  auto networks = load_records_dir(o.dir);
  if (!networks) return networks.error();
  const auto first = networks->size();
  auto server = Server::start(o.server, std::make_shared<const Zone>(std::move(*networks), o.domain, o.ttl));
  if (!server) return server.error();
  tell({RecordsDirEvent::Kind::Serving, o.dir.string(), first});

  auto reload = [&](std::string_view why) {
    auto fresh = load_records_dir(o.dir);
    if (!fresh) return tell({RecordsDirEvent::Kind::ReloadFailed, fresh.error().message()});
    const auto count = fresh->size();
    (*server)->update(std::make_shared<const Zone>(std::move(*fresh), o.domain, o.ttl));
    tell({RecordsDirEvent::Kind::Reloaded, std::string(why), count});
  };

  for (bool running = true; running;) {
    pollfd fds[2] = {{control.fd, POLLIN, 0}, {ifd.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return core::errno_error(errno, "wait for events");
    }
    if ((fds[0].revents & POLLIN) && control.read) {
      const auto command = control.read();
      switch (command.kind) {
        case RecordsDirCommand::Kind::Reload: reload(command.why); break;
        case RecordsDirCommand::Kind::Stop: running = false; break;
        case RecordsDirCommand::Kind::None: break;
      }
    }
    if (running && (fds[1].revents & POLLIN)) {
      alignas(inotify_event) char buf[4096];
      while (::read(ifd.get(), buf, sizeof buf) > 0) {
      }
      reload("directory changed");
    }
  }
  (*server)->stop();
  tell({RecordsDirEvent::Kind::Stopped, {}});
  return {};
}

}  // namespace berth::net::dns
