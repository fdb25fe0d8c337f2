// SPDX-License-Identifier: Apache-2.0
#include "berth/core/fs.hpp"
#include "berth/instance/describe.hpp"
#include "berth/instance/host_view.hpp"
#include "commands.hpp"
#include "environment.hpp"
#include "options.hpp"
#include "report.hpp"

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <iostream>
#include <random>

namespace berth::cli {

int cmd_gen_env(int argc, char** argv) {
  namespace po = boost::program_options;
  std::string out = "dockyard.env";
  std::vector<std::string> avoid;
  po::options_description desc(
      "usage: dockyard gen-env [--nocheck] [-o FILE] [--avoid FILE]... [--json]\n\n"
      "Chooses a prefix, root, bridge CIDR (/24), fixed CIDR, pool base and pool size that collide\n"
      "with nothing on this host (routes, addresses, interfaces, systemd units, other instances,\n"
      "Docker's default pools) and writes them as KEY=VALUE. DOCKYARD_ROOT, DOCKYARD_DOCKER_PREFIX,\n"
      "DOCKYARD_BRIDGE_CIDR, DOCKYARD_FIXED_CIDR, DOCKYARD_POOL_BASE and DOCKYARD_POOL_SIZE in the\n"
      "environment force a value; one that collides is an error.\n\noptions");
  desc.add_options()("help,h", "show this help")("nocheck", "skip the collision checks")(
      "output,o", po::value(&out)->default_value("dockyard.env"), "env file to write")(
      "json", "also print the values as JSON")(
      "avoid", po::value(&avoid), "also avoid the instance in this env file (not created yet); repeatable")("allow-docker-pools",
                                               "let values overlap Docker's default address pools");
  po::variables_map vm;
  if (auto done = parse_options("dockyard: error: gen-env", argc, argv, desc, vm)) return *done;
  auto request = instance::request_from_environment(environment());
  request.nocheck = vm.count("nocheck") > 0;
  request.allow_docker_pools = vm.count("allow-docker-pools") > 0;
  auto host = instance::read_host_view();
  if (!host) return report("dockyard", std::move(host).error().wrap("gen-env"));
  if (auto r = instance::avoid_env_files(*host, {avoid.begin(), avoid.end()}); !r)
    return report("dockyard", std::move(r).error().wrap("gen-env"));
  std::mt19937_64 rng{std::random_device{}()};
  auto chosen = instance::generate_env(*host, request, rng);
  if (!chosen) return report("dockyard", std::move(chosen).error().wrap("gen-env"));
  if (auto w = core::write_file_atomic(out, instance::render_env(*chosen), 0644); !w)
    return report("dockyard", std::move(w).error().wrap("gen-env"));
  if (vm.count("json")) {
    auto o = instance::describe(*chosen);
    o["env_file"] = out;
    fmt::print("{}\n", boost::json::serialize(o));
  } else {
    fmt::print("wrote {} for instance {} (root {}, bridge {}, pool {})\n", out, chosen->prefix,
               chosen->root.string(), chosen->bridge_cidr.to_string(), chosen->pool_base.to_string());
  }
  return 0;
}

}  // namespace berth::cli
