// SPDX-License-Identifier: Apache-2.0
#include "berth/core/fs.hpp"
#include "berth/instance/describe.hpp"
#include "berth/instance/instance.hpp"
#include "commands.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "report.hpp"

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <iostream>

namespace berth::cli {

int cmd_create(int argc, char** argv) {
  namespace po = boost::program_options;
  std::string env_file, firewall, bin_dir, sysbox_dir;
  po::options_description desc(
      "usage: dockyard create [--env FILE] [--no-systemd] [--no-start] [--docker-bin-dir DIR]\n"
      "                       [--firewall nftables|iptables] [--sysbox-dir DIR] [--json]\n\n"
      "Creates the instance an env file describes (see gen-env): its directories, a copy of the Docker\n"
      "binaries, daemon.json, its firewall rules, the system user and group <prefix>docker, and the\n"
      "unit <prefix>docker.service (enabled); starts it and waits until its socket answers.\n"
      "Running it again on the same env file changes nothing.\n\noptions");
  desc.add_options()("help,h", "show this help")(
      "env", po::value(&env_file)->default_value("dockyard.env"), "the instance's env file")(
      "no-systemd", "no unit: dockyard starts dockerd itself, detached, with a pid file")(
      "no-start", "create only, its units disabled; `dockyard start` starts and enables it")(
      "docker-bin-dir", po::value(&bin_dir), "take the Docker binaries from DIR (default: docker.io's)")(
      "firewall", po::value(&firewall)->default_value("nftables"),
      "nftables (a table of its own) or iptables (the original's rules)")(
      "sysbox-dir", po::value(&sysbox_dir), "DIR holds sysbox-runc, sysbox-mgr and sysbox-fs")(
      "json", "print the instance as JSON");
  po::variables_map vm;
  if (auto done = parse_options("dockyard: error: create", argc, argv, desc, vm)) return *done;
  auto text = core::read_file(env_file);
  if (!text) return report("dockyard", std::move(text).error().wrap("create: env file " + env_file));
  auto env = instance::parse_env(*text);
  if (!env) return report("dockyard", std::move(env).error().wrap("create: " + env_file));
  auto fw = instance::parse_firewall(firewall);
  if (!fw) return report("dockyard", std::move(fw).error().wrap("create: --firewall"));

  instance::CreateOptions options;
  options.mode.systemd = vm.count("no-systemd") == 0;
  options.mode.firewall = *fw;
  options.start = vm.count("no-start") == 0;
  if (!bin_dir.empty()) options.binary_dirs = {bin_dir};
  if (!sysbox_dir.empty()) options.sysbox_dir = sysbox_dir;
  instance::HostPaths host;
  if (auto r = instance::create(*env, options, host, terminal_progress()); !r) return report("dockyard", r.error());

  const std::string socket = instance::layout_of(*env).socket.string();
  if (vm.count("json")) {
    auto o = instance::describe(*env, &options.mode);
    o["started"] = options.start;
    fmt::print("{}\n", boost::json::serialize(o));
  } else {
    fmt::print("created instance {} at {}{}\n  DOCKER_HOST=unix://{} docker ps\n", env->prefix, env->root.string(),
               options.start ? " (running)" : "", socket);
  }
  return 0;
}

}  // namespace berth::cli
