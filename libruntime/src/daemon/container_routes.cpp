// SPDX-License-Identifier: Apache-2.0
// /v1/containers: list, inspect, run, stop, kill, remove, wait, exec, logs.
#include "berth/runtime/container/log_follower.hpp"
#include "berth/runtime/daemon/api_error.hpp"
#include "berth/runtime/daemon/routes.hpp"
#include "berth/runtime/daemon/run_request.hpp"
#include "json_fields.hpp"
#include "ndjson.hpp"
#include "spec_json.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace berth::runtime::daemon {
namespace {

namespace json = boost::json;
using core::Errc;
using core::make_error;
using Reply = std::shared_ptr<core::http::Reply>;

json::value or_null(const auto& optional) {
  return optional ? json::value(*optional) : json::value(nullptr);
}

std::string status_of(const WorkloadState& s) {
  if (s.restarting) return "restarting";
  return std::string(container::status_name(s.container.status));
}

json::object inspect_object(const WorkloadState& s) {
  const auto& c = s.container;
  json::object o{{"id", c.id},
                 {"name", c.id},
                 {"image", s.record.spec.image},
                 {"status", status_of(s)},
                 {"created", c.created},
                 {"started_at", s.record.started_at},
                 {"restarts", s.record.restarts},
                 {"restart_policy", to_string(s.record.spec.restart)},
                 {"stop_signal", c.stop_signal},
                 {"health", std::string(health_name(s.health))},
                 {"network", s.record.network},
                 {"log", c.log.string()}};
  o["pid"] = or_null(c.pid);
  o["exit_code"] = or_null(c.exit_code);
  json::array addresses, ports;
  std::string ip;
  if (s.attachment) {
    for (const auto& a : s.attachment->addresses) {
      addresses.emplace_back(a.to_string());
      if (ip.empty() && a.address.is_v4()) ip = a.address.to_string();
    }
  }
  for (const auto& p : s.record.spec.ports) {
    // As `docker ps` shows them: every address is 0.0.0.0.
    std::string text = net::to_string(p);
    if (text.starts_with("*:")) text.replace(0, 1, "0.0.0.0");
    ports.emplace_back(text);
  }
  o["ip"] = ip;
  o["addresses"] = std::move(addresses);
  o["ports"] = std::move(ports);
  o["config"] = spec_json(s.record.spec);
  if (s.health_detail) {
    json::array log;
    for (const auto& r : s.health_detail->log)
      log.emplace_back(json::object{
          {"start", r.start_ms}, {"end", r.end_ms}, {"exit_code", r.exit_code}, {"output", r.output}});
    o["health_detail"] = json::object{{"status", std::string(health_name(s.health_detail->status))},
                                      {"failing_streak", s.health_detail->failing_streak},
                                      {"log", std::move(log)}};
  }
  return o;
}

/// ?key=N: absent → fallback; else a whole number in [min, max].
core::Result<std::optional<std::int64_t>> number_param(const ApiRequest& req, const std::string& key,
                                                       std::int64_t min, std::int64_t max) {
  auto it = req.query.find(key);
  if (it == req.query.end() || it->second.empty()) return std::optional<std::int64_t>{};
  std::int64_t n = 0;
  const auto& v = it->second;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < min || n > max)
    return make_error(Errc::invalid_argument, fmt::format("query '{}' must be a number from {} to {}", key, min, max));
  return std::optional<std::int64_t>(n);
}

/// Answers a streamed operation's end: an error line or `last`.
void finish_stream(const Reply& reply, const core::Result<json::object>& last) {
  if (last) {
    reply->write(ndjson(*last));
  } else {
    reply->write(error_line(last.error()));
  }
  reply->finish();
}

void run_route(Workloads& w, const Post& post, ApiRequest req, Reply reply) {
  auto parsed = parse_run_request(req.http.body);
  if (!parsed) return reply->send(error_response(parsed.error()));
  post([&w, reply, r = std::move(*parsed)]() mutable {
    if (!r.stream) {
      auto s = w.run(std::move(r.spec), {});
      if (!s) return reply->send(error_response(s.error()));
      return reply->send(json_response(
          200, json::serialize(json::object{{"ok", true}, {"id", s->container.id}, {"image", s->record.spec.image}})));
    }
    reply->start_stream(200, {{"Content-Type", "application/x-ndjson"}});
    auto s = w.run(std::move(r.spec), [&reply](const RunEvent& e) {
      if (e.phase != "run") reply->write(ndjson(event_json(e)));
    });
    core::Result<json::object> last = s ? core::Result<json::object>(json::object{
                                              {"phase", "run"}, {"ok", true}, {"container_id", s->container.id},
                                              {"id", s->container.id}, {"image", s->record.spec.image}})
                                        : core::Result<json::object>(s.error());
    finish_stream(reply, last);
  });
}

void logs_route(std::shared_ptr<Workloads> workloads, ApiRequest req, Reply reply) {
  const std::string id = req.params.at("id");
  auto follow = req.flag("follow");
  if (!follow) return reply->send(error_response(follow.error()));
  auto tail = number_param(req, "tail", 0, 1'000'000'000);
  if (!tail) return reply->send(error_response(tail.error()));
  const std::string format = req.query.contains("format") ? req.query.at("format") : "plain";
  if (format != "plain" && format != "json")
    return reply->send(error_response(make_error(Errc::invalid_argument, "query 'format' must be plain or json")));
  // A follower may last as long as the container: a thread of its own, not a worker's.
  std::thread([workloads, id, reply, follow = *follow, tail = *tail, json_lines = format == "json"] {
    Workloads& w = *workloads;
    auto s = w.inspect(id);
    if (!s) return reply->send(error_response(s.error()));
    std::vector<container::LogEntry> initial;
    std::optional<std::size_t> keep;
    if (tail) keep = static_cast<std::size_t>(*tail);
    auto f = container::LogFollower::open(s->container.log, w.log_max_files(), keep, initial);
    if (!f) {
      if (f.error().code == std::errc::no_such_file_or_directory) {
        // Never started: no log yet.
        initial.clear();
      } else {
        return reply->send(error_response(f.error()));
      }
    }
    reply->start_stream(200, {{"Content-Type", json_lines ? "application/x-ndjson" : "text/plain; charset=utf-8"}});
    auto send = [&](const std::vector<container::LogEntry>& entries) {
      std::string out;
      for (const auto& e : entries) {
        if (json_lines) {
          json::object o{{"log", e.text}, {"stream", e.stream}, {"time", e.time}};
          if (e.partial) o["partial"] = true;
          out += ndjson(o);
        } else {
          out += e.text;
        }
      }
      return out.empty() || reply->write(out);
    };
    if (!send(initial) || !follow || !f) return reply->finish();
    // Woken by the container's end (no polling delay on the last lines), else every 100 ms for new ones.
    struct Wake {
      std::mutex m;
      std::condition_variable cv;
      bool ended = false;
    };
    auto wake = std::make_shared<Wake>();
    auto arm = [&] {
      {
        std::lock_guard g(wake->m);
        wake->ended = false;
      }
      auto r = w.on_exit(id, [wake](int) {
        std::lock_guard g(wake->m);
        wake->ended = true;
        wake->cv.notify_all();
      });
      if (!r) {
        std::lock_guard g(wake->m);
        wake->ended = true;  // gone already
      }
    };
    arm();
    for (;;) {
      auto more = f->poll();
      if (!more) break;
      if (!send(*more)) return;
      if (!more->empty()) continue;
      bool ended;
      {
        std::unique_lock g(wake->m);
        wake->cv.wait_for(g, std::chrono::milliseconds(100), [&] { return wake->ended; });
        ended = wake->ended;
      }
      if (reply->closed()) return;
      if (!ended) continue;
      auto now = w.inspect(id);
      if (now && (now->container.status == container::Status::Running || now->restarting)) {
        arm();  // restarted by its policy: followed on
        continue;
      }
      // Ended for good: what it wrote is all there (its monitor writes the log before its exit).
      if (auto last = f->poll(); last) send(*last);
      break;
    }
    reply->finish();
  }).detach();
}

}  // namespace

std::string inspect_json(const WorkloadState& state) { return json::serialize(inspect_object(state)); }

void add_container_routes(Router& router, std::shared_ptr<Workloads> workloads, Post post) {
  // Workers end before the workloads; a log follower's thread may not, and holds them.
  Workloads* w = workloads.get();
  router.add("GET", "/v1/containers", [w](ApiRequest req, Reply reply) {
    auto detail = req.flag("detail");
    if (!detail) return reply->send(error_response(detail.error()));
    auto all = w->list();
    if (!all) return reply->send(error_response(all.error()));
    json::array ids, items;
    for (const auto& s : *all) {
      ids.emplace_back(s.container.id);
      if (*detail) items.emplace_back(inspect_object(s));
    }
    json::object out{{"containers", std::move(ids)}};
    if (*detail) out["items"] = std::move(items);
    reply->send(json_response(200, json::serialize(out)));
  });
  router.add("GET", "/v1/containers/{id}", [w](ApiRequest req, Reply reply) {
    auto s = w->inspect(req.params.at("id"));
    if (!s) return reply->send(error_response(s.error()));
    reply->send(json_response(200, inspect_json(*s)));
  });
  router.add("POST", "/v1/containers/run",
             [w, post](ApiRequest req, Reply reply) { run_route(*w, post, std::move(req), std::move(reply)); });
  router.add("POST", "/v1/containers/{id}/stop", [w, post](ApiRequest req, Reply reply) {
    auto t = number_param(req, "t", 0, 3600);
    if (!t) return reply->send(error_response(t.error()));
    auto body = JsonFields::parse_body(req.http.body, true);
    if (!body) return reply->send(error_response(body.error()));
    JsonFields f(*body);
    auto timeout = f.integer("timeout", 0, 3600);
    if (!timeout) return reply->send(error_response(timeout.error()));
    if (auto done = f.finish(); !done) return reply->send(error_response(done.error()));
    const auto grace = std::chrono::seconds(timeout->value_or(t->value_or(10)));
    post([w, reply, id = req.params.at("id"), grace] {
      auto code = w->stop(id, grace);
      if (!code) return reply->send(error_response(code.error()));
      reply->send(json_response(200, json::serialize(json::object{{"ok", true}, {"id", id}, {"exit_code", *code}})));
    });
  });
  router.add("POST", "/v1/containers/{id}/kill", [w, post](ApiRequest req, Reply reply) {
    auto body = JsonFields::parse_body(req.http.body, true);
    if (!body) return reply->send(error_response(body.error()));
    JsonFields f(*body);
    auto signal = f.string("signal");
    if (!signal) return reply->send(error_response(signal.error()));
    if (auto done = f.finish(); !done) return reply->send(error_response(done.error()));
    std::string sig = signal->value_or("KILL");
    if (auto n = container::parse_signal(sig); !n) return reply->send(error_response(n.error()));
    post([w, reply, id = req.params.at("id"), sig] {
      auto r = w->kill(id, sig);
      if (!r) return reply->send(error_response(r.error()));
      reply->send(json_response(200, json::serialize(json::object{{"ok", true}, {"id", id}, {"signal", sig}})));
    });
  });
  router.add("POST", "/v1/containers/{id}/remove", [w, post](ApiRequest req, Reply reply) {
    auto force = req.flag("force");
    if (!force) return reply->send(error_response(force.error()));
    post([w, reply, id = req.params.at("id"), force = *force] {
      auto r = w->remove(id, force);
      if (!r) return reply->send(error_response(r.error()));
      reply->send(json_response(200, json::serialize(json::object{{"ok", true}, {"id", id}})));
    });
  });
  router.add("POST", "/v1/containers/{id}/wait", [w, post](ApiRequest req, Reply reply) {
    post([w, reply, id = req.params.at("id")] {
      auto r = w->on_exit(id, [reply, id](int code) {
        reply->send(json_response(200, json::serialize(json::object{{"id", id}, {"exit_code", code}})));
      });
      if (!r) reply->send(error_response(r.error()));
    });
  });
  router.add("POST", "/v1/containers/{id}/exec", [w, post](ApiRequest req, Reply reply) {
    auto body = JsonFields::parse_body(req.http.body, false);
    if (!body) return reply->send(error_response(body.error()));
    JsonFields f(*body);
    auto cmd = f.strings("cmd");
    if (!cmd) return reply->send(error_response(cmd.error()));
    auto timeout_text = f.string("timeout");
    if (!timeout_text) return reply->send(error_response(timeout_text.error()));
    if (auto done = f.finish(); !done) return reply->send(error_response(done.error()));
    if (cmd->empty() || cmd->front().empty())
      return reply->send(error_response(make_error(Errc::invalid_argument, "field 'cmd': needs a program")));
    std::chrono::milliseconds timeout = std::chrono::minutes(10);
    if (*timeout_text) {
      auto d = parse_duration(**timeout_text);
      if (!d || d->count() <= 0)
        return reply->send(error_response(make_error(Errc::invalid_argument, "field 'timeout': not a duration above 0 (10s, 1m)")));
      timeout = *d;
    }
    post([w, reply, id = req.params.at("id"), cmd = std::move(*cmd), timeout] {
      auto r = w->exec(id, cmd, timeout);
      if (!r) return reply->send(error_response(r.error()));
      // What it printed is held whole in memory: keep the answer bounded.
      constexpr std::size_t kMaxOutput = std::size_t{4} << 20;
      const bool truncated = r->out.size() > kMaxOutput || r->err.size() > kMaxOutput;
      if (r->out.size() > kMaxOutput) r->out.resize(kMaxOutput);
      if (r->err.size() > kMaxOutput) r->err.resize(kMaxOutput);
      reply->send(json_response(200, json::serialize(json::object{{"ok", true},
                                                                  {"id", id},
                                                                  {"exit_code", r->exit_code},
                                                                  {"stdout", r->out},
                                                                  {"stderr", r->err},
                                                                  {"truncated", truncated}})));
    });
  });
  router.add("GET", "/v1/containers/{id}/logs", [workloads](ApiRequest req, Reply reply) {
    logs_route(workloads, std::move(req), std::move(reply));
  });
}

}  // namespace berth::runtime::daemon
