// SPDX-License-Identifier: Apache-2.0
// berth-firewall: an owner's nftables table through libnet's Firewall, for
// programs that cannot link berth. A dockyard instance's unit runs its own
// copy from ExecStartPre and ExecStopPost:
//   berth-firewall --table dy1_docker zone dy1_ --subnet 10.31.7.0/24 --subnet 10.42.0.0/16
//                  --masquerade 10.31.7.0/24 --masquerade 10.42.0.0/16  (one line)
//   berth-firewall --table dy1_docker remove
#include "berth/net/firewall/firewall.hpp"
#include "environment.hpp"
#include "options.hpp"
#include "report.hpp"

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <string>
#include <vector>

namespace {

berth::core::Result<std::vector<berth::net::Subnet>> subnets(const std::vector<std::string>& texts, const char* what) {
  std::vector<berth::net::Subnet> out;
  for (const auto& t : texts) {
    auto s = berth::net::Subnet::parse(t);
    if (!s) return std::move(s).error().wrap(what);
    out.push_back(*s);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  std::string table, verb, zone;
  std::vector<std::string> subnet_texts, masquerade_texts;
  po::options_description desc(
      "usage: berth-firewall --table NAME zone ZONE --subnet CIDR... [--masquerade CIDR...] [--verify]\n"
      "       berth-firewall --table NAME remove\n\n"
      "zone: makes the table `inet NAME` hold the address zone ZONE (in one transaction; running it\n"
      "again changes nothing): traffic into its subnets is accepted from the zone itself and as\n"
      "replies, and dropped from anywhere else; traffic from the --masquerade subnets leaving the zone\n"
      "is masqueraded. With --verify, changes nothing and exits 1 naming each difference.\n"
      "remove: deletes the table (a missing one is fine).\n\noptions");
  desc.add_options()("help,h", "show this help")("table", po::value(&table)->required(), "the owner's table")(
      "subnet", po::value(&subnet_texts), "a subnet of the zone (repeatable)")(
      "masquerade", po::value(&masquerade_texts), "a subnet masqueraded when leaving the zone (repeatable)")(
      "verify", "compare the kernel's table with the zone instead of changing it");
  po::options_description hidden;
  hidden.add_options()("verb", po::value(&verb)->required())("zone", po::value(&zone));
  po::positional_options_description pos;
  pos.add("verb", 1).add("zone", 1);
  po::variables_map vm;
  if (auto done = berth::cli::parse_options("berth-firewall: error", argc, argv, desc, vm, &hidden, &pos)) return *done;

  // Bad input is refused before the firewall is opened.
  if (verb != "remove" && (verb != "zone" || zone.empty())) {
    fmt::print(stderr, "berth-firewall: error: expected 'zone ZONE' or 'remove' (see --help)\n");
    return 2;
  }
  auto subs = subnets(subnet_texts, "--subnet");
  if (!subs) return berth::cli::report("berth-firewall", subs.error());
  auto masq = subnets(masquerade_texts, "--masquerade");
  if (!masq) return berth::cli::report("berth-firewall", masq.error());
  auto fw = berth::net::make_nft_firewall({.table = table});
  if (!fw) return berth::cli::report("berth-firewall", fw.error());
  if (verb == "remove") {
    if (auto r = berth::net::remove_before_exit(**fw, berth::cli::environment()); !r)
      return berth::cli::report("berth-firewall", r.error());
    return 0;
  }
  const berth::net::FirewallZone z{zone, *subs, *masq};
  if (vm.count("verify")) {
    (*fw)->adopt({.zones = {z}});
    auto diffs = (*fw)->verify();
    if (!diffs) return berth::cli::report("berth-firewall", diffs.error());
    for (const auto& d : *diffs) fmt::print("{}\n", d);
    return diffs->empty() ? 0 : 1;
  }
  if (auto r = (*fw)->add_zone(z); !r) return berth::cli::report("berth-firewall", r.error());
  return 0;
}
