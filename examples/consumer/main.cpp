// SPDX-License-Identifier: Apache-2.0
// Links berth's installed libraries: plans the addresses of a network.
#include <berth/net/address.hpp>
#include <berth/net/ipam.hpp>

#include <cstdio>
#include <filesystem>
#include <unistd.h>

int main() {
  auto subnet = berth::net::Subnet::parse("10.88.0.0/16");
  if (!subnet) {
    std::fprintf(stderr, "consumer: error: %s\n", subnet.error().message().c_str());
    return 1;
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "berth-consumer-XXXXXX").string();
  std::filesystem::path dir = ::mkdtemp(tmpl.data());
  auto ipam = berth::net::Ipam::open("demo", *subnet, dir);
  auto first = ipam ? ipam->allocate("first") : berth::core::Result<berth::net::IpAddress>(ipam.error());
  std::filesystem::remove_all(dir);
  if (!first) {
    std::fprintf(stderr, "consumer: error: %s\n", first.error().message().c_str());
    return 1;
  }
  std::printf("subnet %s: gateway %s, first container %s\n", subnet->to_string().c_str(),
              ipam->gateway().to_string().c_str(), first->to_string().c_str());
  return 0;
}
