// SPDX-License-Identifier: Apache-2.0
#include "berth/runtime/daemon/workloads.hpp"

#include "berth/core/fs.hpp"
#include "berth/core/names.hpp"
#include "berth/core/netns.hpp"
#include "berth/core/store.hpp"
#include "berth/net/cni/cni_backend.hpp"
#include "berth/net/dns/records.hpp"
#include "berth/net/dns/resolv_conf.hpp"
#include "berth/net/dns/server.hpp"
#include "berth/runtime/image/reference.hpp"
#include "exit_watcher.hpp"
#include "health_probe.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

namespace berth::runtime::daemon {

namespace fs = std::filesystem;
using core::Errc;
using core::make_error;
using core::Result;

std::string generate_name(std::string_view image) {
  std::string base(image);
  if (auto at = base.find('@'); at != std::string::npos) base.resize(at);
  if (auto slash = base.rfind('/'); slash != std::string::npos) base.erase(0, slash + 1);
  if (auto colon = base.find(':'); colon != std::string::npos) base.resize(colon);
  if (!core::is_plain_name(base, 64)) base = "berth";
  thread_local std::mt19937 rng{std::random_device{}()};
  return fmt::format("{}-{:08x}", base, static_cast<std::uint32_t>(rng()));
}

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Steps to undo when a run fails halfway, run last-first; dismissed once it runs.
class Undo {
public:
  void add(std::function<void()> fn) { steps_.push_back(std::move(fn)); }
  void dismiss() { steps_.clear(); }
  ~Undo() {
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
  }

private:
  std::vector<std::function<void()>> steps_;
};

bool is_stop_signal(std::string_view signal, std::string_view stop_signal) {
  auto n = container::parse_signal(signal);
  if (!n) return false;
  auto s = container::parse_signal(stop_signal.empty() ? "SIGTERM" : stop_signal);
  return *n == SIGKILL || *n == SIGTERM || *n == SIGINT || (s && *n == *s);
}

class WorkloadsImpl final : public Workloads {
public:
  WorkloadsImpl(WorkloadsOptions o, image::Store images, container::Containers containers)
      : o_(std::move(o)),
        images_(std::move(images)),
        containers_(std::move(containers)),
        records_(o_.base_dir / "workloads") {}

  ~WorkloadsImpl() override {
    {
      std::lock_guard state(state_mutex_);
      health_.clear();  // probes from now on record nothing and schedule nothing
    }
    // Probes, exits and restarts in flight use the watcher: they end before
    // it does. What it posts after that is never run.
    health_pool_.join();
    pool_.join();
    watcher_.reset();
    if (dns_) dns_->stop();
  }

  Result<void> init() {
    BERTH_TRY(records_.create(), "workload records");
    BERTH_TRY(core::make_directories(netns_dir(), 0755), "network namespaces");
    network_name_ = o_.network.name;
    if (o_.driver == NetDriver::Native) {
      net::NativeBackendOptions no;
      no.network = o_.network;
      no.state_dir = o_.base_dir / "net";
      auto b = net::make_native_backend(no);
      if (!b) return std::move(b).error().wrap("native network backend");
      backend_ = std::move(*b);
    } else {
      net::CniBackendOptions co;
      co.network = o_.network.name;
      co.conf_dir = o_.cni_conf_dir;
      co.bin_dirs = o_.cni_bin_dirs;
      co.state_dir = o_.base_dir / "cni";
      co.internal = o_.network.internal;
      co.warn = [this](const std::string& w) { event("network", w); };
      auto b = net::make_cni_backend(co);
      if (!b) return std::move(b).error().wrap("CNI network backend");
      backend_ = std::move(*b);
    }
    {
      std::lock_guard net(net_mutex_);
      if (auto r = backend_->ensure_network(); !r) return std::move(r).error().wrap("network");
    }
    use_dns_ = use_embedded_dns(o_.dns, o_.driver, {o_.network.internal});
    gateway_ = o_.network.gateway.value_or(o_.network.subnet.nth(1).value_or(o_.network.subnet.network()));
    if (use_dns_) {
      registry_.set_network(network_name_, {o_.network.subnet}, {gateway_}, o_.network.internal);
      net::dns::ServerOptions so;
      so.port = o_.dns_port;
      so.upstreams = o_.dns_upstreams;
      so.resolv_conf = o_.host_resolv_conf;
      so.on_error = [this](const net::IpAddress& a, const std::string& why) {
        event("dns", fmt::format("{}: {}", a.to_string(), why));
      };
      auto s = net::dns::Server::start(so, registry_.snapshot());
      if (!s) return std::move(s).error().wrap("embedded DNS server");
      dns_ = std::move(*s);
    }
    watcher_ = std::make_unique<ExitWatcher>([this](const std::string& id) {
      boost::asio::post(pool_, [this, id] { handle_exit(id); });
    });
    return adopt();
  }

  std::string driver() const override { return std::string(backend_->driver()); }
  const image::Store& images() const override { return images_; }
  unsigned log_max_files() const override { return o_.log_max_files; }

  // Run ----------------------------------------------------------------------

  Result<WorkloadState> run(WorkloadSpec spec, const std::function<void(const RunEvent&)>& progress) override {
    if (spec.name.empty()) spec.name = generate_name(spec.image);
    const std::string name = spec.name;
    const std::string what = fmt::format("run container '{}'", name);
    if (auto r = core::validate_container_id(name); !r) return std::move(r).error();
    auto ref = image::parse_reference(spec.image);
    if (!ref) return make_error(Errc::invalid_argument, ref.error().message());
    if (!spec.network.empty() && spec.network != network_name_)
      return make_error(Errc::not_found, fmt::format("no such network '{}'", spec.network));
    auto guard = lock(name);
    if (auto old = records_.get(name + ".json"); !old || *old || containers_.state(name))
      return make_error(Errc::conflict, fmt::format("the name '{}' is in use by a container", name));

    // The image, pulled when the store has none of that name.
    const std::string image_name = ref->to_string();
    auto stored = images_.find(image_name);
    if (!stored) return std::move(stored).error().wrap(what);
    if (!*stored) {
      auto pulled = pull_image(*ref, progress);
      if (!pulled) return std::move(pulled).error().wrap(what);
    }

    WorkloadRecord rec{.spec = spec, .network = network_name_};
    // The record first: a daemon killed from here on finds what it began.
    BERTH_TRY(records_.put(name + ".json", record_to_json(rec)), what);
    Undo undo;
    undo.add([this, name] { (void)records_.remove(name + ".json"); });

    const fs::path netns = netns_path(name);
    auto ns = core::NetnsFile::create(netns);
    if (!ns) return std::move(ns).error().wrap(what);
    ns->release();
    undo.add([this, name] { release_network(name); });

    net::SetupRequest req{.container_id = name,
                          .netns = netns,
                          .hostname = spec.hostname.empty() ? name : spec.hostname,
                          .ports = spec.ports};
    Result<net::Attachment> att = [&] {
      std::lock_guard net(net_mutex_);
      return backend_->setup(req);
    }();
    if (!att) return std::move(att).error().wrap(what);

    container::CreateOptions co;
    co.id = name;
    co.image = image_name;
    co.run.entrypoint = spec.entrypoint;
    co.run.command = spec.args;
    co.run.env = spec.env;
    co.run.user = spec.user;
    co.run.working_dir = spec.working_dir;
    co.run.hostname = spec.hostname;
    co.run.netns = netns;
    co.run.read_only = spec.read_only;
    co.run.cap_add = spec.cap_add;
    co.run.cap_drop = spec.cap_drop;
    co.run.mounts = spec.volumes;
    co.run.memory_bytes = spec.memory_bytes;
    co.run.cpus = spec.cpus;
    for (const auto& a : att->addresses) {
      co.etc.addresses.push_back(a.address);
      if (a.address.is_v6()) co.etc.ipv6 = true;
    }
    if (use_dns_) co.etc.resolv_conf = net::dns::container_resolv_conf({gateway_}, registry_domain());
    auto created = containers_.create(images_, co);
    if (!created) return std::move(created).error().wrap(what);
    undo.add([this, name] { (void)containers_.remove(name); });

    rec.started_at = now_ms();
    BERTH_TRY(records_.put(name + ".json", record_to_json(rec)), what);
    BERTH_TRY(containers_.start(name), what);
    undo.dismiss();
    if (progress) progress({.phase = "run", .message = "started"});
    attached(name, *att);
    watch(name);
    start_health(name, rec);
    refresh(name);
    return inspect_locked(name);
  }

  Result<image::StoredImage> pull(const std::string& reference,
                                  const std::function<void(const RunEvent&)>& progress) override {
    auto ref = image::parse_reference(reference);
    if (!ref) return make_error(Errc::invalid_argument, ref.error().message());
    return pull_image(*ref, progress);
  }

  Result<void> remove_image(const std::string& reference, bool force) override {
    auto ref = image::parse_reference(reference);
    if (!ref) return make_error(Errc::invalid_argument, ref.error().message());
    const std::string name = ref->to_string();
    if (!force) {
      auto names = records_.list(".json");
      if (names) {
        for (const auto& n : *names) {
          auto rec = load(n.substr(0, n.size() - 5));
          if (!rec) continue;
          auto r = image::parse_reference(rec->spec.image);
          if (r && r->to_string() == name)
            return make_error(Errc::conflict, fmt::format("image '{}' is used by container '{}'", reference,
                                                          rec->spec.name));
        }
      }
    }
    auto r = images_.untag(name);
    if (!r && r.error().is(Errc::not_found)) return make_error(Errc::not_found, fmt::format("no such image '{}'", reference));
    return r;
  }

  // State --------------------------------------------------------------------

  Result<WorkloadState> inspect(const std::string& name) const override {
    if (auto r = core::validate_container_id(name); !r) return make_error(Errc::not_found, no_such(name));
    return inspect_locked(name);
  }

  Result<std::vector<WorkloadState>> list() const override {
    std::vector<WorkloadState> out;
    {
      std::lock_guard state(state_mutex_);
      out.reserve(known_.size());
      for (const auto& [name, k] : known_)
        if (auto s = state_of_locked(name)) out.push_back(std::move(*s));
    }
    for (auto& s : out) complete(s);
    return out;
  }

  // Stop, kill, remove, wait ---------------------------------------------------

  Result<int> stop(const std::string& name, std::chrono::milliseconds grace) override {
    auto guard = lock(name);
    auto rec = load(name);
    if (!rec) return rec.error();
    rec->stopped_by_user = true;
    BERTH_TRY(records_.put(name + ".json", record_to_json(*rec)), fmt::format("stop container '{}'", name));
    forget_restart(name);
    stop_health(name);
    auto code = containers_.stop(name, grace);
    if (!code) return code.error();
    release_network(name);
    notify(name, *code);
    return *code;
  }

  Result<void> kill(const std::string& name, std::string_view signal) override {
    auto guard = lock(name);
    auto rec = load(name);
    if (!rec) return rec.error();
    auto st = containers_.state(name);
    if (!st) return st.error();
    if (auto n = container::parse_signal(signal); !n) return std::move(n).error();
    if (is_stop_signal(signal, st->stop_signal) && !rec->stopped_by_user) {
      rec->stopped_by_user = true;
      BERTH_TRY(records_.put(name + ".json", record_to_json(*rec)), fmt::format("kill container '{}'", name));
      forget_restart(name);
    }
    return containers_.kill(name, signal);
  }

  Result<void> remove(const std::string& name, bool force) override {
    const std::string what = fmt::format("remove container '{}'", name);
    auto guard = lock(name);
    auto rec = load(name);
    if (!rec) return rec.error();
    auto st = containers_.state(name);
    std::optional<int> code;
    if (st && st->status == container::Status::Running) {
      if (!force)
        return make_error(Errc::conflict,
                          fmt::format("container '{}' is running: stop it first, or remove it with force", name));
      rec->stopped_by_user = true;
      BERTH_TRY(records_.put(name + ".json", record_to_json(*rec)), what);
      (void)containers_.kill(name, "SIGKILL");
      auto w = containers_.wait(name, std::chrono::seconds(30));
      if (!w) return std::move(w).error().wrap(what);
      code = *w;
    } else if (st) {
      code = st->exit_code;
    }
    watcher_->unwatch(name);
    forget_restart(name);
    stop_health(name);
    release_network(name);
    if (st) BERTH_TRY(containers_.remove(name), what);
    BERTH_TRY(records_.remove(name + ".json"), what);
    notify(name, code.value_or(255));
    return {};
  }

  Result<void> on_exit(const std::string& name, std::function<void(int)> done) override {
    auto guard = lock(name);
    auto rec = load(name);
    if (!rec) return rec.error();
    auto st = containers_.state(name);
    if (!st) return st.error();
    bool pending;
    {
      std::lock_guard state(state_mutex_);
      // Ended but its exit not handled yet (its network still attached):
      // the waiter hears of it once handle_exit has released what it had.
      pending = restarting_.contains(name) ||
                (st->status == container::Status::Stopped && attachments_.contains(name));
    }
    if (st->status == container::Status::Running || pending) {
      std::lock_guard state(state_mutex_);
      waiters_[name].push_back(std::move(done));
      return {};
    }
    done(st->exit_code.value_or(st->status == container::Status::Created ? 0 : 255));
    return {};
  }

  Result<container::ExecResult> exec(const std::string& name, const std::vector<std::string>& argv,
                                     std::chrono::milliseconds timeout) override {
    // Not under the workload's lock: a long exec must not hold up its stop.
    if (auto rec = load(name); !rec) return rec.error();
    return containers_.exec(name, argv, timeout);
  }

  void stop_all(std::chrono::milliseconds grace) override {
    auto all = list();
    if (!all) return;
    std::vector<std::thread> stopping;
    for (const auto& s : *all)
      if (s.container.status == container::Status::Running || s.restarting)
        stopping.emplace_back([this, id = s.container.id, grace] { (void)stop(id, grace); });
    for (auto& t : stopping) t.join();
  }

private:
  // Helpers ------------------------------------------------------------------

  fs::path netns_dir() const { return o_.exec_root / "netns"; }
  fs::path netns_path(const std::string& name) const { return netns_dir() / name; }
  static std::string registry_domain() { return "berth.internal"; }
  static std::string no_such(const std::string& name) { return fmt::format("no such container '{}'", name); }

  void event(std::string_view message, std::string_view detail) const {
    if (o_.on_event) o_.on_event(message, detail);
  }

  /// A workload's lock: its operations run one at a time. Whatever one
  /// changed on disk is read back into the in-memory view (refresh) before
  /// the next may begin, so ps and inspect never touch the disk.
  class NameLock {
  public:
    NameLock(const WorkloadsImpl& owner, std::string name, std::mutex& m)
        : owner_(owner), name_(std::move(name)), lock_(m) {}
    NameLock(const NameLock&) = delete;
    NameLock& operator=(const NameLock&) = delete;
    ~NameLock() { unlock(); }
    void unlock() {
      if (!lock_.owns_lock()) return;
      owner_.refresh(name_);
      lock_.unlock();
    }

  private:
    const WorkloadsImpl& owner_;
    std::string name_;
    std::unique_lock<std::mutex> lock_;
  };

  NameLock lock(const std::string& name) const {
    std::shared_ptr<std::mutex> m;
    {
      std::lock_guard g(locks_mutex_);
      auto& slot = locks_[name];
      if (!slot) slot = std::make_shared<std::mutex>();
      m = slot;
    }
    // The map keeps the mutex alive: entries are few (one per name ever used) and tiny.
    return NameLock(*this, name, *m);
  }

  /// What the disk says of one workload, into the in-memory view: its
  /// record and its container's state. The runtime's side changes on its
  /// own only when a container ends, and then handle_exit, under the lock,
  /// refreshes it; so between two refreshes the view is what the disk says.
  void refresh(const std::string& name) const {
    auto rec = load(name);
    std::optional<Known> known;
    if (rec) {
      Known k{.record = std::move(*rec), .container = {}};
      if (auto st = containers_.state(name)) {
        k.container = std::move(*st);
      } else {
        // Between its record and its container (a run in progress, or one a crash cut short).
        k.container.id = name;
        k.container.image = k.record.spec.image;
        k.container.status = container::Status::Created;
      }
      known = std::move(k);
    }
    std::lock_guard state(state_mutex_);
    if (known) known_[name] = std::move(*known);
    else known_.erase(name);
  }

  /// A start a killed daemon left halfway is running before its pid file
  /// is written: such a state takes its pid from the disk when asked.
  void complete(WorkloadState& s) const {
    if (s.container.status != container::Status::Running || s.container.pid) return;
    if (auto st = containers_.state(s.container.id)) s.container.pid = st->pid;
  }

  Result<WorkloadRecord> load(const std::string& name) const {
    if (!core::is_plain_name(name, core::kMaxContainerId)) return make_error(Errc::not_found, no_such(name));
    auto text = records_.get(name + ".json");
    if (!text) return text.error();
    if (!*text) return make_error(Errc::not_found, no_such(name));
    auto rec = record_from_json(**text);
    if (!rec) return std::move(rec).error().wrap(fmt::format("record of container '{}'", name));
    return rec;
  }

  /// A workload as the in-memory view has it (see refresh).
  Result<WorkloadState> inspect_locked(const std::string& name) const {
    Result<WorkloadState> s = [&] {
      std::lock_guard state(state_mutex_);
      return state_of_locked(name);
    }();
    if (s) complete(*s);
    return s;
  }

  /// Under state_mutex_.
  Result<WorkloadState> state_of_locked(const std::string& name) const {
    auto known = known_.find(name);
    if (known == known_.end()) return make_error(Errc::not_found, no_such(name));
    WorkloadState s;
    s.record = known->second.record;
    s.container = known->second.container;
    if (auto it = attachments_.find(name); it != attachments_.end()) s.attachment = it->second;
    s.restarting = restarting_.contains(name);
    if (auto it = health_.find(name); it != health_.end()) {
      s.health = it->second.status.status;
      s.health_detail = it->second.status;
    }
    return s;
  }

  Result<image::StoredImage> pull_image(const image::Reference& ref,
                                        const std::function<void(const RunEvent&)>& progress) {
    image::PullOptions po = o_.pull;
    if (progress) {
      progress({.phase = "pull", .message = fmt::format("pulling {}", ref.familiar())});
      po.progress = [&progress](std::string_view digest, std::int64_t done, std::int64_t total) {
        progress({.phase = "layer", .digest = std::string(digest), .current = done, .total = total});
      };
      po.status = [&progress](std::string_view text) { progress({.phase = "status", .message = std::string(text)}); };
    }
    auto img = image::pull(images_, ref, po);
    if (!img) return img.error();
    if (progress) progress({.phase = "pulled", .message = img->name, .digest = img->manifest.digest});
    return img;
  }

  void attached(const std::string& name, const net::Attachment& att) {
    {
      std::lock_guard state(state_mutex_);
      attachments_[name] = att;
    }
    register_dns(name, att);
  }

  void register_dns(const std::string& name, const net::Attachment& att) {
    if (!use_dns_) return;
    net::dns::ContainerRecords r{.name = name};
    if (!att.hostname.empty() && att.hostname != name) r.aliases.push_back(att.hostname);
    for (const auto& a : att.aliases) r.aliases.push_back(a);
    for (const auto& a : att.addresses) r.addresses.push_back(a.address);
    (void)registry_.add_container(network_name_, std::move(r));
    dns_->update(registry_.snapshot());
  }

  /// Releases what a workload has on its network: its DNS name, its
  /// attachment (veth, lease, firewall entries) and its network namespace.
  /// Idempotent; failures are told, not returned (the rest still goes).
  void release_network(const std::string& name) {
    bool had_dns = false;
    {
      std::lock_guard state(state_mutex_);
      attachments_.erase(name);
    }
    if (use_dns_) {
      had_dns = registry_.remove_container(network_name_, name);
      if (had_dns) dns_->update(registry_.snapshot());
    }
    const fs::path netns = netns_path(name);
    {
      std::lock_guard net(net_mutex_);
      if (auto r = backend_->teardown({.container_id = name, .netns = netns}); !r)
        event("release network", r.error().message());
    }
    if (auto r = core::NetnsFile::remove(netns); !r) event("release network namespace", r.error().message());
  }

  void watch(const std::string& name) {
    auto fd = containers_.exit_fd(name);
    if (fd) {
      watcher_->watch(name, std::move(fd));
    } else {
      // It has ended already (or its monitor is gone): handled as an exit.
      boost::asio::post(pool_, [this, name] { handle_exit(name); });
    }
  }

  /// Under the workload's lock: what waiters then ask (inspect, ps) is already true.
  void notify(const std::string& name, int code) {
    refresh(name);
    std::vector<std::function<void(int)>> waiting;
    {
      std::lock_guard state(state_mutex_);
      if (auto it = waiters_.find(name); it != waiters_.end()) {
        waiting = std::move(it->second);
        waiters_.erase(it);
      }
    }
    for (auto& w : waiting) w(code);
  }

  void forget_restart(const std::string& name) {
    std::lock_guard state(state_mutex_);
    restarting_.erase(name);
  }

  // Health checks --------------------------------------------------------------
  // Each running workload with a check has an entry; its probes run on
  // their own pool (a slow probe holds up no exit), one after the other,
  // `interval` apart. An entry's generation tells a probe in flight, or a
  // timer, that the run it was for has ended (stop, exit, remove).

  struct HealthRun {
    std::uint64_t generation = 0;
    HealthCheck check;
    std::int64_t started_ms = 0;
    HealthStatus status;
  };

  void start_health(const std::string& name, const WorkloadRecord& rec) {
    if (rec.spec.healthcheck.kind == HealthCheck::Kind::None) return;
    std::uint64_t generation;
    {
      std::lock_guard state(state_mutex_);
      generation = ++health_generation_;
      health_[name] = HealthRun{.generation = generation, .check = rec.spec.healthcheck, .started_ms = rec.started_at};
    }
    schedule_probe(name, generation, rec.spec.healthcheck.interval);
  }

  void stop_health(const std::string& name) {
    std::lock_guard state(state_mutex_);
    health_.erase(name);
  }

  void schedule_probe(const std::string& name, std::uint64_t generation, std::chrono::milliseconds after) {
    watcher_->at(ExitWatcher::Clock::now() + after, [this, name, generation] {
      boost::asio::post(health_pool_, [this, name, generation] { probe(name, generation); });
    });
  }

  void probe(const std::string& name, std::uint64_t generation) {
    HealthCheck check;
    std::optional<net::IpAddress> address;
    {
      std::lock_guard state(state_mutex_);
      auto it = health_.find(name);
      if (it == health_.end() || it->second.generation != generation) return;
      check = it->second.check;
      if (auto a = attachments_.find(name); a != attachments_.end())
        for (const auto& ia : a->second.addresses)
          if (!address || (ia.address.is_v4() && address->is_v6())) address = ia.address;
    }
    ProbeResult result;
    result.start_ms = now_ms();
    switch (check.kind) {
      case HealthCheck::Kind::Exec: {
        auto e = containers_.exec(name, check.command, check.timeout);
        if (e) {
          result.exit_code = e->exit_code == 0 ? 0 : 1;
          result.output = e->out + e->err;
        } else {
          result.output = e.error().message();
        }
        break;
      }
      case HealthCheck::Kind::Tcp:
      case HealthCheck::Kind::Http: {
        if (!address) {
          result.output = "the container has no address";
          break;
        }
        if (check.kind == HealthCheck::Kind::Tcp) {
          result = probe_tcp(netns_path(name), *address, check.port, check.timeout);
        } else if (auto url = parse_health_url(check.url)) {
          result = probe_http(netns_path(name), *address, *url, check.timeout);
        } else {
          result.output = url.error().message();
        }
        break;
      }
      case HealthCheck::Kind::None: return;
    }
    if (result.end_ms == 0) result.end_ms = now_ms();
    Health before, after;
    {
      std::lock_guard state(state_mutex_);
      auto it = health_.find(name);
      if (it == health_.end() || it->second.generation != generation) return;
      before = it->second.status.status;
      record_probe(it->second.status, check, std::move(result), it->second.started_ms);
      after = it->second.status.status;
    }
    if (before != after) event("health", fmt::format("container '{}' is {}", name, health_name(after)));
    schedule_probe(name, generation, check.interval);
  }

  // Exits and restarts ---------------------------------------------------------

  void handle_exit(const std::string& name) {
    auto guard = lock(name);
    auto rec = load(name);
    if (!rec) return;
    auto st = containers_.state(name);
    if (!st) return;
    if (st->status == container::Status::Running) {
      // A monitor gone with its container still there cannot be: look again.
      if (auto fd = containers_.exit_fd(name)) watcher_->watch(name, std::move(fd));
      return;
    }
    if (st->status == container::Status::Created) return;  // a run in progress or failed; its own caller decides
    stop_health(name);
    const int code = st->exit_code.value_or(255);
    if (should_restart(rec->spec.restart, code, rec->restarts, rec->stopped_by_user)) {
      const bool ran_long = now_ms() - rec->started_at >= 10'000;
      unsigned in_a_row;
      {
        std::lock_guard state(state_mutex_);
        in_a_row = ran_long ? 0 : backoff_[name]++;
        if (ran_long) backoff_[name] = 1;
        restarting_.insert(name);
      }
      const auto delay = restart_delay(in_a_row);
      event("restart", fmt::format("container '{}' exited with {}; starting it again in {} ms", name, code,
                                   delay.count()));
      watcher_->at(ExitWatcher::Clock::now() + delay,
                   [this, name] { boost::asio::post(pool_, [this, name] { restart(name); }); });
      notify(name, code);
      return;
    }
    release_network(name);
    notify(name, code);
    if (rec->spec.auto_remove) {
      watcher_->unwatch(name);
      if (auto r = containers_.remove(name); !r) event("auto-remove", r.error().message());
      (void)records_.remove(name + ".json");
    } else if (auto r = containers_.release_runtime(name); !r) {
      // After the waiters: `run --rm` reads the end of the log and asks for
      // the exit code meanwhile, and its remove then finds nothing to wait for.
      event("release", r.error().message());
    }
  }

  void restart(const std::string& name) {
    auto guard = lock(name);
    {
      std::lock_guard state(state_mutex_);
      if (!restarting_.contains(name)) return;  // stopped or removed meanwhile
    }
    // Still "restarting" for inspect until it runs: never seen stopped in between.
    auto rec = load(name);
    auto st = containers_.state(name);
    if (!rec || rec->stopped_by_user || !st || st->status == container::Status::Running) {
      forget_restart(name);
      return;
    }
    rec->restarts++;
    rec->started_at = now_ms();
    (void)records_.put(name + ".json", record_to_json(*rec));
    auto started = containers_.start(name);
    forget_restart(name);
    if (!started) {
      event("restart", started.error().message());
      guard.unlock();
      handle_exit(name);  // counted as a failed run: the policy decides again
      return;
    }
    watch(name);
    start_health(name, *rec);
  }

  // Re-adoption ---------------------------------------------------------------

  /// Everything the records and the runtime say at start, made to agree.
  Result<void> adopt() {
    // This daemon holds the base directory's lock: whoever left a record's
    // temporary file is dead.
    records_.remove_all_leftovers();
    auto names = records_.list(".json");
    if (!names) return std::move(names).error().wrap("workload records");
    std::set<std::string> known;
    std::map<std::string, net::Attachment> attachments;
    {
      std::lock_guard net(net_mutex_);
      auto all = backend_->attachments();
      if (!all) return std::move(all).error().wrap("network attachments");
      for (auto& a : *all) attachments.emplace(a.container_id, std::move(a));
    }
    for (const auto& n : *names) {
      const std::string name = n.substr(0, n.size() - 5);
      auto rec = load(name);
      if (!rec) {
        event("adopt", rec.error().message());
        continue;
      }
      auto st = containers_.state(name);
      if (!st || st->status == container::Status::Created) {
        // A run cut short between its record and its start: undone.
        event("release", fmt::format("container '{}' never started; removed", name));
        release_network(name);
        if (st) (void)containers_.remove(name);
        (void)records_.remove(n);
        continue;
      }
      known.insert(name);
      if (st->status == container::Status::Running) {
        auto att = repair(name, *rec, attachments);
        if (att) attached(name, *att);
        else event("adopt", att.error().message());
        watch(name);
        start_health(name, *rec);
      } else {
        // It ended while no daemon watched: its policy decides now.
        if (auto it = attachments.find(name); it != attachments.end()) attached(name, it->second);
        boost::asio::post(pool_, [this, name] { handle_exit(name); });
      }
    }
    // What belongs to no record goes.
    for (const auto& [id, att] : attachments) {
      if (known.contains(id)) continue;
      event("release", fmt::format("network attachment of '{}' belongs to no container", id));
      std::lock_guard net(net_mutex_);
      (void)backend_->teardown({.container_id = id, .netns = att.netns});
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(netns_dir(), ec)) {
      const std::string name = entry.path().filename().string();
      if (known.contains(name)) continue;
      event("release", fmt::format("network namespace '{}' belongs to no container", name));
      (void)core::NetnsFile::remove(entry.path());
    }
    if (auto all = containers_.list()) {
      for (const auto& c : *all) {
        if (known.contains(c.id)) continue;
        event("release", fmt::format("container '{}' has no record; removed", c.id));
        if (c.status == container::Status::Running) (void)containers_.stop(c.id, std::chrono::seconds(1));
        (void)containers_.remove(c.id);
      }
    }
    if (auto cleared = containers_.remove_leftovers(images_)) {
      for (const auto& id : *cleared) event("release", fmt::format("what a cut-short create of '{}' left; removed", id));
    } else {
      event("release", cleared.error().message());
    }
    // The in-memory view, each under its lock (an exit posted above may be handled meanwhile).
    for (const auto& name : known) {
      auto refreshed = lock(name);
    }
    return {};
  }

  /// A running workload's attachment as the backend has it, set up again when it has gone or broken.
  Result<net::Attachment> repair(const std::string& name, const WorkloadRecord& rec,
                                 const std::map<std::string, net::Attachment>& attachments) {
    net::SetupRequest req{.container_id = name,
                          .netns = netns_path(name),
                          .hostname = rec.spec.hostname.empty() ? name : rec.spec.hostname,
                          .ports = rec.spec.ports};
    std::lock_guard net(net_mutex_);
    auto it = attachments.find(name);
    if (it != attachments.end() && backend_->check(req)) return it->second;
    event("repair", fmt::format("network of container '{}' set up again", name));
    return backend_->setup(req);
  }

  WorkloadsOptions o_;
  image::Store images_;
  mutable container::Containers containers_;
  core::RecordStore records_;
  std::string network_name_;
  net::IpAddress gateway_;
  bool use_dns_ = false;

  std::mutex net_mutex_;  // the backend: one call at a time
  std::unique_ptr<net::Backend> backend_;
  net::dns::Registry registry_;
  std::unique_ptr<net::dns::Server> dns_;

  mutable std::mutex locks_mutex_;
  mutable std::map<std::string, std::shared_ptr<std::mutex>> locks_;

  /// A workload's record and container state, as of its last refresh.
  struct Known {
    WorkloadRecord record;
    container::ContainerState container;
  };

  mutable std::mutex state_mutex_;  // what follows
  mutable std::map<std::string, Known> known_;
  std::map<std::string, net::Attachment> attachments_;
  std::map<std::string, std::vector<std::function<void(int)>>> waiters_;
  std::set<std::string> restarting_;
  std::map<std::string, unsigned> backoff_;
  std::map<std::string, HealthRun> health_;
  std::uint64_t health_generation_ = 0;

  boost::asio::thread_pool pool_{2};  // exits and restarts
  boost::asio::thread_pool health_pool_{2};
  std::unique_ptr<ExitWatcher> watcher_;  // last: destroyed first
};

}  // namespace

Result<std::unique_ptr<Workloads>> Workloads::open(WorkloadsOptions o) {
  auto images = image::Store::open(o.base_dir);
  if (!images) return std::move(images).error().wrap("image store");
  container::RuntimeOptions ro;
  ro.base = o.base_dir;
  ro.state = o.exec_root / "runc";
  ro.runtime = o.runtime;
  ro.monitor = o.monitor;
  ro.log_max_size = o.log_max_size;
  ro.log_max_files = o.log_max_files;
  ro.host_resolv_conf = o.host_resolv_conf;
  auto containers = container::Containers::open(ro);
  if (!containers) return std::move(containers).error();
  auto w = std::make_unique<WorkloadsImpl>(std::move(o), std::move(*images), std::move(*containers));
  if (auto r = w->init(); !r) return std::move(r).error();
  return std::unique_ptr<Workloads>(std::move(w));
}

}  // namespace berth::runtime::daemon
