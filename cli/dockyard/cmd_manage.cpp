// SPDX-License-Identifier: Apache-2.0
#include "cmd_manage.hpp"

#include "berth/instance/instance.hpp"
#include "instance_args.hpp"
#include "options.hpp"
#include "report.hpp"

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <iostream>
#include <map>

namespace berth::cli {
namespace {

namespace json = boost::json;

struct VerbHelp {
  const char* usage;
  const char* text;
};

const std::map<std::string_view, VerbHelp>& verbs() {
  static const std::map<std::string_view, VerbHelp> v{
      {"start", {"dockyard start [PREFIX | --env FILE]", "Starts the instance and waits until its socket answers."}},
      {"stop", {"dockyard stop [PREFIX | --env FILE]", "Stops the instance's dockerd; its firewall rules go with it."}},
      {"status",
       {"dockyard status [PREFIX | --env FILE] [--json]", "Shows whether the instance runs and its socket answers."}},
      {"verify",
       {"dockyard verify [PREFIX | --env FILE] [--json]",
        "Checks every resource of the instance (files, binaries, unit, user, group, bridge, firewall,\n"
        "socket); exits 1 and names each problem when one is wrong."}},
      {"destroy",
       {"dockyard destroy [PREFIX | --env FILE] [--yes]",
        "Removes the instance: its containers, unit, firewall rules, bridge, directories, user and group.\n"
        "Works while containers run; destroying an instance that is gone succeeds."}},
      {"list", {"dockyard list [--json]", "Lists the instances on this host."}},
  };
  return v;
}

json::object describe(const instance::InstanceRecord& r, const instance::InstanceStatus& s) {
  json::object o{{"prefix", r.env.prefix},
                 {"root", r.env.root.string()},
                 {"socket", instance::layout_of(r.env).socket.string()},
                 {"bridge", r.env.bridge()},
                 {"bridge_cidr", r.env.bridge_cidr.to_string()},
                 {"pool_base", r.env.pool_base.to_string()},
                 {"systemd", r.options.systemd},
                 {"firewall", instance::firewall_name(r.options.firewall)},
                 {"sysbox", r.options.sysbox},
                 {"state", s.state},
                 {"answers", s.answers}};
  o["pid"] = s.pid ? json::value(*s.pid) : json::value(nullptr);
  return o;
}

int list(bool as_json, const instance::HostPaths& host) {
  auto all = host.inventory.list();
  if (!all) return report("dockyard", std::move(all).error().wrap("list"));
  json::array out;
  if (!as_json && !all->empty()) fmt::print("{:<10} {:<10} {:<8} {:<20} {}\n", "PREFIX", "STATE", "ANSWERS", "BRIDGE", "ROOT");
  for (const auto& r : *all) {
    auto s = instance::status(r, host);
    if (!s) return report("dockyard", std::move(s).error().wrap("list"));
    if (as_json)
      out.push_back(describe(r, *s));
    else
      fmt::print("{:<10} {:<10} {:<8} {:<20} {}\n", r.env.prefix, s->state, s->answers ? "yes" : "no",
                 r.env.bridge_cidr.to_string(), r.env.root.string());
  }
  if (as_json) fmt::print("{}\n", json::serialize(out));
  return 0;
}

}  // namespace

int cmd_manage(std::string_view verb, int argc, char** argv) {
  namespace po = boost::program_options;
  const auto& help = verbs().at(verb);
  std::string prefix, env_file;
  po::options_description desc(fmt::format("usage: {}\n\n{}\n\noptions", help.usage, help.text));
  desc.add_options()("help,h", "show this help");
  if (verb != "list") desc.add_options()("env", po::value(&env_file), "the instance's env file (default ./dockyard.env)");
  if (verb == "status" || verb == "verify" || verb == "list") desc.add_options()("json", "print JSON");
  if (verb == "destroy") desc.add_options()("yes,y", "do not ask (the only mode: dockyard never prompts)");
  po::options_description hidden;
  hidden.add_options()("prefix", po::value(&prefix));
  po::positional_options_description pos;
  if (verb != "list") pos.add("prefix", 1);
  po::variables_map vm;
  if (auto done = parse_options(fmt::format("dockyard: error: {}", verb), argc, argv, desc, vm, &hidden, &pos))
    return *done;
  const bool as_json = vm.count("json") > 0;
  instance::HostPaths host;
  if (verb == "list") return list(as_json, host);

  auto chosen = select_instance(host, vm.count("prefix") ? std::optional(prefix) : std::nullopt,
                                vm.count("env") ? std::optional(env_file) : std::nullopt, verb != "destroy");
  if (!chosen) return report("dockyard", std::move(chosen).error().wrap(std::string(verb)));
  const auto progress = terminal_progress();

  if (verb == "start") {
    if (auto r = instance::start(*chosen, host, progress); !r) return report("dockyard", r.error());
    fmt::print("{} is running: DOCKER_HOST=unix://{}\n", chosen->env.prefix, instance::layout_of(chosen->env).socket.string());
    return 0;
  }
  if (verb == "stop") {
    if (auto r = instance::stop(*chosen, host, progress); !r) return report("dockyard", r.error());
    fmt::print("{} is stopped\n", chosen->env.prefix);
    return 0;
  }
  if (verb == "destroy") {
    if (auto r = instance::destroy(chosen->env, host, progress); !r) return report("dockyard", r.error());
    fmt::print("{} is destroyed\n", chosen->env.prefix);
    return 0;
  }
  if (verb == "status") {
    auto s = instance::status(*chosen, host);
    if (!s) return report("dockyard", std::move(s).error().wrap("status"));
    if (as_json)
      fmt::print("{}\n", json::serialize(describe(*chosen, *s)));
    else
      fmt::print("{}: {}{}, socket {} {}\n", chosen->env.prefix, s->state,
                 s->pid ? fmt::format(" (dockerd pid {})", *s->pid) : "", instance::layout_of(chosen->env).socket.string(),
                 s->answers ? "answers" : "does not answer");
    return s->state == "active" && s->answers ? 0 : 3;  // like systemctl status: 3 = not running
  }
  // verify
  auto problems = instance::verify(*chosen, host);
  if (!problems) return report("dockyard", std::move(problems).error());
  if (as_json) {
    json::array a;
    for (const auto& p : *problems) a.emplace_back(p);
    fmt::print("{}\n", json::serialize(json::object{{"prefix", chosen->env.prefix}, {"ok", problems->empty()}, {"problems", a}}));
  } else if (problems->empty()) {
    fmt::print("{}: every resource is in place\n", chosen->env.prefix);
  } else {
    for (const auto& p : *problems) fmt::print("{}: {}\n", chosen->env.prefix, p);
  }
  return problems->empty() ? 0 : 1;
}

}  // namespace berth::cli
