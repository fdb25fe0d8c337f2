// SPDX-License-Identifier: Apache-2.0
// Debian's docker-registry, served on 127.0.0.1 inside the test's own
// network namespace, plain or with TLS (a certificate made here) and
// htpasswd Basic authentication; images pushed to it with skopeo.
#pragma once

#include "berth/core/fs.hpp"
#include "berth/core/process.hpp"
#include "berth/runtime/image/auth.hpp"

#include "berth_catch.hpp"
#include "temp_dir.hpp"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace berth::test {

/// A TCP port nobody uses on 127.0.0.1 right now.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

struct RegistryOptions {
  bool tls = false;
  std::string user, password;  ///< set: htpasswd Basic authentication
};

class Registry {
public:
  explicit Registry(RegistryOptions o = {}) : o_(std::move(o)), port_(free_port()) {
    std::string config = fmt::format(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{}\n",
        (dir_.path / "data").string(), port_);
    if (o_.tls) {
      auto r = core::run_checked(
          {.program = "openssl",
           .args = {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", (dir_.path / "key.pem").string(), "-out",
                    cert().string()}});
      REQUIRE(r);
      config += fmt::format("  tls:\n    certificate: {}\n    key: {}\n", cert().string(), (dir_.path / "key.pem").string());
    }
    if (!o_.user.empty()) {
      auto h = core::run_checked({.program = "htpasswd", .args = {"-Bbn", o_.user, o_.password}});
      REQUIRE(h);
      REQUIRE(core::write_file_atomic(dir_.path / "htpasswd", h->out));
      config += fmt::format("auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n", (dir_.path / "htpasswd").string());
    }
    REQUIRE(core::write_file_atomic(dir_.path / "config.yml", config));
    auto child = core::Child::spawn({.program = "docker-registry", .args = {"serve", (dir_.path / "config.yml").string()}},
                                    {.stderr_path = dir_.path / "registry.log"});
    REQUIRE(child);
    child_.emplace(std::move(*child));
    for (int i = 0; i < 200 && !port_open(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    REQUIRE(port_open(port_));
  }

  [[nodiscard]] std::string host() const { return fmt::format("127.0.0.1:{}", port_); }
  [[nodiscard]] std::filesystem::path cert() const { return dir_.path / "cert.pem"; }

  /// Pushes `oci:LAYOUT:TAG` as HOST/NAME with skopeo.
  void push(const std::filesystem::path& layout, const std::string& name) {
    std::vector<std::string> args{"copy", "--quiet", "--dest-tls-verify=false"};
    if (!o_.user.empty()) args.push_back("--dest-creds=" + o_.user + ":" + o_.password);
    args.push_back("oci:" + layout.string() + ":latest");
    args.push_back("docker://" + host() + "/" + name);
    auto r = core::run_checked({.program = "skopeo", .args = args});
    REQUIRE(r);
  }

  /// A Docker config.json holding `user`:`password` for this registry.
  std::filesystem::path docker_config(const std::string& user, const std::string& password) {
    const auto file = dir_.path / fmt::format("config-{}.json", user);
    REQUIRE(core::write_file_atomic(
        file, fmt::format(R"({{"auths":{{"{}":{{"auth":"{}"}}}}}})", host(),
                          runtime::image::base64_encode(user + ":" + password))));
    return file;
  }

private:
  TempDir dir_;
  RegistryOptions o_;
  int port_;
  std::optional<core::Child> child_;  // last: stopped first
};

}  // namespace berth::test
