// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/oci/spec.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace berth::runtime::oci {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;
using core::Result;

/// Every capability this kernel generation knows (linux/capability.h), in order.
const std::vector<std::string>& all_capabilities() {
  static const std::vector<std::string> c{
      "CHOWN",     "DAC_OVERRIDE",     "DAC_READ_SEARCH", "FOWNER",          "FSETID",       "KILL",
      "SETGID",    "SETUID",           "SETPCAP",         "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
      "NET_BROADCAST", "NET_ADMIN",    "NET_RAW",         "IPC_LOCK",        "IPC_OWNER",    "SYS_MODULE",
      "SYS_RAWIO", "SYS_CHROOT",       "SYS_PTRACE",      "SYS_PACCT",       "SYS_ADMIN",    "SYS_BOOT",
      "SYS_NICE",  "SYS_RESOURCE",     "SYS_TIME",        "SYS_TTY_CONFIG",  "MKNOD",        "LEASE",
      "AUDIT_WRITE", "AUDIT_CONTROL",  "SETFCAP",         "MAC_OVERRIDE",    "MAC_ADMIN",    "SYSLOG",
      "WAKE_ALARM", "BLOCK_SUSPEND",   "AUDIT_READ",      "PERFMON",         "BPF",          "CHECKPOINT_RESTORE"};
  return c;
}

std::string strip_cap(std::string_view name) {
  std::string n(name);
  for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (n.starts_with("CAP_")) n = n.substr(4);
  return n;
}

std::vector<std::string> lines(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l[0] != '#') out.push_back(l);
  return out;
}

std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto colon = line.find(':', start);
    out.push_back(line.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) return out;
    start = colon + 1;
  }
}

std::optional<std::uint32_t> number(std::string_view s) {
  std::uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

/// "6.18.44-fc" -> {6, 18, 44}
std::vector<int> version(std::string_view v) {
  std::vector<int> out;
  int cur = 0;
  bool any = false;
  for (char c : v) {
    if (c >= '0' && c <= '9') {
      cur = cur * 10 + (c - '0');
      any = true;
    } else if (c == '.') {
      out.push_back(cur);
      cur = 0;
      any = false;
    } else {
      break;
    }
  }
  if (any) out.push_back(cur);
  return out;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object mount(std::string destination, std::string type, std::string source, std::vector<std::string> options) {
  return json::object{{"destination", std::move(destination)},
                      {"type", std::move(type)},
                      {"source", std::move(source)},
                      {"options", strings(options)}};
}

}  // namespace

Result<ResolvedUser> resolve_user(std::string_view user, std::string_view passwd, std::string_view group) {
  ResolvedUser r;
  std::string name(user), grp;
  if (auto colon = user.find(':'); colon != std::string_view::npos) {
    name = std::string(user.substr(0, colon));
    grp = std::string(user.substr(colon + 1));
  }
  if (name.empty()) name.assign(1, '0');  // (not = "0": GCC 12 warns falsely, -Wrestrict)
  const auto users = lines(passwd);
  std::optional<std::string> username;
  bool found = false;
  for (const auto& l : users) {
    auto f = fields(l);
    if (f.size() < 7) continue;
    if (f[0] == name || (number(name) && f[2] == name)) {
      auto uid = number(f[2]);
      auto gid = number(f[3]);
      if (!uid || !gid) continue;
      r.uid = *uid;
      r.gid = *gid;
      r.home = f[5].empty() ? "/" : f[5];
      username = f[0];
      found = true;
      break;
    }
  }
  if (!found) {
    auto uid = number(name);
    if (!uid) return make_error(Errc::invalid_argument, fmt::format("user '{}' is not in the image's /etc/passwd", name));
    r.uid = *uid;
    r.gid = 0;
  }
  const auto groups = lines(group);
  if (!grp.empty()) {
    bool have = false;
    for (const auto& l : groups) {
      auto f = fields(l);
      if (f.size() >= 3 && (f[0] == grp || (number(grp) && f[2] == grp)))
        if (auto gid = number(f[2])) {
          r.gid = *gid;
          have = true;
          break;
        }
    }
    if (!have) {
      auto gid = number(grp);
      if (!gid) return make_error(Errc::invalid_argument, fmt::format("group '{}' is not in the image's /etc/group", grp));
      r.gid = *gid;
    }
  }
  if (username)
    for (const auto& l : groups) {
      auto f = fields(l);
      if (f.size() < 4) continue;
      auto gid = number(f[2]);
      if (!gid || *gid == r.gid) continue;
      std::istringstream members(f[3]);
      for (std::string m; std::getline(members, m, ',');)
        if (m == *username) r.additional_gids.push_back(*gid);
    }
  return r;
}

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> c{"CHOWN",  "DAC_OVERRIDE", "FSETID",  "FOWNER",           "MKNOD",
                                          "NET_RAW", "SETGID",      "SETUID",  "SETFCAP",          "SETPCAP",
                                          "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"};
  return c;
}

Result<std::vector<std::string>> capabilities(const std::vector<std::string>& add, const std::vector<std::string>& drop) {
  std::set<std::string> caps(default_capabilities().begin(), default_capabilities().end());
  auto known = [](const std::string& c) {
    return std::find(all_capabilities().begin(), all_capabilities().end(), c) != all_capabilities().end();
  };
  for (const auto& d : drop) {
    const auto c = strip_cap(d);
    if (c == "ALL") caps.clear();
    else if (!known(c)) return make_error(Errc::invalid_argument, fmt::format("unknown capability '{}'", d));
    else caps.erase(c);
  }
  for (const auto& a : add) {
    const auto c = strip_cap(a);
    if (c == "ALL") caps.insert(all_capabilities().begin(), all_capabilities().end());
    else if (!known(c)) return make_error(Errc::invalid_argument, fmt::format("unknown capability '{}'", a));
    else caps.insert(c);
  }
  std::vector<std::string> out;
  for (const auto& c : caps) out.push_back("CAP_" + c);
  return out;
}

Result<std::string> seccomp_for(std::string_view profile, std::string_view architecture,
                                const std::vector<std::string>& caps, std::string_view kernel_release) {
  auto bad = [](std::string_view why) { return make_error(Errc::invalid_argument, fmt::format("seccomp profile: {}", why)); };
  boost::system::error_code ec;
  auto doc = json::parse(profile, ec);
  if (ec || !doc.is_object()) return bad("not a JSON object");
  const auto& p = doc.get_object();
  static const std::map<std::string, std::string, std::less<>> kArch{
      {"amd64", "SCMP_ARCH_X86_64"}, {"arm64", "SCMP_ARCH_AARCH64"}, {"386", "SCMP_ARCH_X86"},
      {"arm", "SCMP_ARCH_ARM"},      {"ppc64le", "SCMP_ARCH_PPC64LE"}, {"s390x", "SCMP_ARCH_S390X"}};
  // The profile's own short names of architectures in its conditions.
  static const std::map<std::string, std::vector<std::string>, std::less<>> kArchNames{
      {"amd64", {"amd64", "x86_64"}}, {"arm64", {"arm64", "aarch64"}}, {"386", {"x86", "386"}}};
  auto arch = kArch.find(architecture);
  if (arch == kArch.end()) return bad(fmt::format("architecture '{}' is not supported", architecture));
  json::object out;
  const auto* def = p.if_contains("defaultAction");
  if (!def || !def->is_string()) return bad("'defaultAction' is missing");
  out["defaultAction"] = *def;
  if (const auto* e = p.if_contains("defaultErrnoRet"); e && e->is_int64()) out["defaultErrnoRet"] = *e;
  json::array archs;
  if (const auto* m = p.if_contains("archMap"); m && m->is_array())
    for (const auto& a : m->get_array()) {
      const auto* o = a.if_object();
      if (!o || !o->contains("architecture") || o->at("architecture") != json::value(arch->second)) continue;
      archs.push_back(o->at("architecture"));
      if (const auto* subs = o->if_contains("subArchitectures"); subs && subs->is_array())
        for (const auto& s : subs->get_array()) archs.push_back(s);
    }
  if (archs.empty()) archs.emplace_back(arch->second);
  out["architectures"] = std::move(archs);
  const std::set<std::string> have(caps.begin(), caps.end());
  const auto kernel = version(kernel_release);
  auto arch_names = kArchNames.count(std::string(architecture)) ? kArchNames.at(std::string(architecture))
                                                                 : std::vector<std::string>{std::string(architecture)};
  auto matches = [&](const json::object& cond, bool include) {
    if (const auto* a = cond.if_contains("arches"); a && a->is_array() && !a->get_array().empty()) {
      bool any = false;
      for (const auto& x : a->get_array())
        if (x.is_string() && std::find(arch_names.begin(), arch_names.end(), std::string(x.get_string())) != arch_names.end())
          any = true;
      if (include != any) return false;
    }
    if (const auto* c = cond.if_contains("caps"); c && c->is_array() && !c->get_array().empty()) {
      bool all = true, any = false;
      for (const auto& x : c->get_array())
        if (x.is_string()) {
          const bool h = have.count(std::string(x.get_string())) > 0;
          all = all && h;
          any = any || h;
        }
      if (include ? !all : any) return false;
    }
    if (const auto* k = cond.if_contains("minKernel"); include && k && k->is_string())
      if (kernel < version(k->get_string())) return false;
    return true;
  };
  json::array syscalls;
  const auto* list = p.if_contains("syscalls");
  if (!list || !list->is_array()) return bad("'syscalls' is missing");
  for (const auto& v : list->get_array()) {
    const auto* s = v.if_object();
    if (!s) return bad("a syscall rule is not an object");
    if (const auto* inc = s->if_contains("includes"); inc && inc->is_object() && !matches(inc->get_object(), true)) continue;
    if (const auto* exc = s->if_contains("excludes"); exc && exc->is_object()) {
      const auto& e = exc->get_object();
      bool excluded = false;
      if (const auto* a = e.if_contains("arches"); a && a->is_array())
        for (const auto& x : a->get_array())
          if (x.is_string() && std::find(arch_names.begin(), arch_names.end(), std::string(x.get_string())) != arch_names.end())
            excluded = true;
      if (const auto* c = e.if_contains("caps"); c && c->is_array())
        for (const auto& x : c->get_array())
          if (x.is_string() && have.count(std::string(x.get_string()))) excluded = true;
      if (excluded) continue;
    }
    const auto* names = s->if_contains("names");
    const auto* action = s->if_contains("action");
    if (!names || !names->is_array() || !action || !action->is_string()) return bad("a syscall rule lacks 'names' or 'action'");
    json::object rule{{"names", *names}, {"action", *action}};
    if (const auto* a = s->if_contains("args"); a && a->is_array() && !a->get_array().empty()) rule["args"] = *a;
    if (const auto* e = s->if_contains("errnoRet"); e && e->is_int64()) rule["errnoRet"] = *e;
    syscalls.push_back(std::move(rule));
  }
  out["syscalls"] = std::move(syscalls);
  return json::serialize(out);
}

Result<std::string> render_spec(const SpecInput& in, const RunOptions& o) {
  const auto& img = in.image;
  // The process: entrypoint and command as Docker combines them.
  std::vector<std::string> args = o.entrypoint.empty() ? img.entrypoint : o.entrypoint;
  const auto& cmd = !o.command.empty() ? o.command : (o.entrypoint.empty() ? img.cmd : std::vector<std::string>{});
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) return make_error(Errc::invalid_argument, "the image has no command and none was given");
  auto user = resolve_user(o.user.empty() ? img.user : o.user, in.passwd, in.group);
  if (!user) return user.error();
  // Environment: the image's, then the run's over it (by key); PATH and HOSTNAME as Docker sets them.
  std::vector<std::string> env;
  auto put = [&](const std::string& kv) {
    const auto key = kv.substr(0, kv.find('='));
    std::erase_if(env, [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
    env.push_back(kv);
  };
  const std::string hostname = o.hostname;
  put("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!hostname.empty()) put("HOSTNAME=" + hostname);
  for (const auto& e : img.env) put(e);
  for (const auto& e : o.env) {
    if (e.find('=') == std::string::npos || e.front() == '=')
      return make_error(Errc::invalid_argument, fmt::format("environment '{}' is not KEY=VALUE", e));
    put(e);
  }
  if (std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.starts_with("HOME="); }))
    env.push_back("HOME=" + user->home);
  std::string cwd = !o.working_dir.empty() ? o.working_dir : (img.working_dir.empty() ? "/" : img.working_dir);
  if (!cwd.starts_with('/')) return make_error(Errc::invalid_argument, fmt::format("working directory '{}' is not absolute", cwd));
  auto caps = capabilities(o.cap_add, o.cap_drop);
  if (!caps) return caps.error();

  json::array additional;
  for (auto g : user->additional_gids) additional.push_back(g);
  json::object user_json{{"uid", user->uid}, {"gid", user->gid}};
  if (!additional.empty()) user_json["additionalGids"] = std::move(additional);
  json::array rlimits;
  for (const auto& r : o.rlimits) rlimits.push_back(json::object{{"type", r.type}, {"soft", r.soft}, {"hard", r.hard}});
  const json::array cap_list = strings(*caps);
  json::object process{{"terminal", o.terminal},
                       {"user", std::move(user_json)},
                       {"args", strings(args)},
                       {"env", strings(env)},
                       {"cwd", cwd},
                       {"capabilities",
                        json::object{{"bounding", cap_list}, {"effective", cap_list}, {"permitted", cap_list}}},
                       {"rlimits", std::move(rlimits)},
                       {"noNewPrivileges", false},
                       {"oomScoreAdj", 0}};

  json::array mounts{
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
  };
  for (const auto& b : o.mounts) {
    if (!b.destination.is_absolute())
      return make_error(Errc::invalid_argument, fmt::format("mount destination '{}' is not absolute", b.destination.string()));
    std::vector<std::string> opts{"rbind", b.read_only ? "ro" : "rw", "rprivate"};
    mounts.push_back(mount(b.destination.string(), "bind", b.source.string(), opts));
  }

  json::array namespaces{json::object{{"type", "pid"}}, json::object{{"type", "ipc"}}, json::object{{"type", "uts"}},
                         json::object{{"type", "mount"}}, json::object{{"type", "cgroup"}}};
  if (o.netns.empty()) namespaces.push_back(json::object{{"type", "network"}});
  else namespaces.push_back(json::object{{"type", "network"}, {"path", o.netns.string()}});

  json::object resources;
  if (o.memory_bytes) {
    if (*o.memory_bytes < 6 * 1024 * 1024)
      return make_error(Errc::invalid_argument, "a memory limit below 6 MiB cannot run a container");
    resources["memory"] = json::object{{"limit", *o.memory_bytes}};
  }
  if (o.cpus) {
    if (!(*o.cpus > 0) || *o.cpus > 1024) return make_error(Errc::invalid_argument, fmt::format("cpus {} is out of range", *o.cpus));
    resources["cpu"] = json::object{{"quota", static_cast<std::int64_t>(std::llround(*o.cpus * 100000))}, {"period", 100000}};
  }
  if (o.pids_limit) resources["pids"] = json::object{{"limit", *o.pids_limit}};
  resources["devices"] = json::array{json::object{{"allow", false}, {"access", "rwm"}},
                                     // the devices every container has (runc's defaults allow these too)
                                     json::object{{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}},
                                     json::object{{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 5}, {"access", "rwm"}},
                                     json::object{{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 7}, {"access", "rwm"}},
                                     json::object{{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 8}, {"access", "rwm"}},
                                     json::object{{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 9}, {"access", "rwm"}},
                                     json::object{{"allow", true}, {"type", "c"}, {"major", 5}, {"minor", 0}, {"access", "rwm"}},
                                     json::object{{"allow", true}, {"type", "c"}, {"major", 5}, {"minor", 2}, {"access", "rwm"}},
                                     json::object{{"allow", true}, {"type", "c"}, {"major", 136}, {"access", "rwm"}}};

  json::object linux{
      {"namespaces", std::move(namespaces)},
      {"resources", std::move(resources)},
      {"maskedPaths", strings({"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                               "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                               "/sys/firmware", "/sys/devices/virtual/powercap"})},
      {"readonlyPaths", strings({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})}};
  if (!o.cgroups_path.empty()) linux["cgroupsPath"] = o.cgroups_path;
  if (!o.seccomp_profile.empty()) {
    auto sc = seccomp_for(o.seccomp_profile, in.architecture, *caps, in.kernel_release);
    if (!sc) return sc.error();
    linux["seccomp"] = json::parse(*sc);
  }
  json::object annotations;
  for (const auto& [k, v] : o.annotations) annotations[k] = v;
  json::object spec{{"ociVersion", "1.0.2"},
                    {"process", std::move(process)},
                    {"root", json::object{{"path", in.rootfs.string()}, {"readonly", o.read_only}}},
                    {"hostname", hostname},
                    {"mounts", std::move(mounts)},
                    {"linux", std::move(linux)}};
  if (!annotations.empty()) spec["annotations"] = std::move(annotations);
  return json::serialize(spec);
}

}  // namespace berth::runtime::oci
