#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian 12 package berth's build, tests and benchmarks need.
# Idempotent; talks to Debian's package registry only.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: error: must run as root (apt-get install)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git clang libclang-rt-14-dev
  # libraries (Boost 1.81 only: the unversioned libboost-*-dev are 1.74 and conflict)
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libnl-3-dev libnl-route-3-dev libnl-genl-3-dev libnftnl-dev libmnl-dev
  libfmt-dev catch2
  # images: layers unpacked by libarchive (gzip, zstd), hashed by OpenSSL; registries over libcurl
  libarchive-dev libssl-dev libcurl4-openssl-dev
  # programs the tests and benchmarks drive (systemd for systemd-analyze and journalctl: a minimal
  # Debian has no systemd package; installing it does not make it PID 1)
  iproute2 iputils-ping nftables iptables procps socat systemd
  # peers of the network backend tests and benchmarks
  containernetworking-plugins netavark
  # images: tools that build, convert and read OCI layouts and docker archives in the tests
  umoci skopeo docker-registry apache2-utils
  # a real CNI runtime that drives berth-cni (podman's CNI backend), its OCI runtime and an image's contents
  podman runc busybox-static
  # DNS: dig for the tests, dnsmasq as an upstream resolver in tests and as the benchmark's peer
  dnsutils dnsmasq-base
  # the DNS benchmark's load generator and its other peer
  dnsperf aardvark-dns
  # dockyard: the Docker binaries every instance copies, and the system tier's test host
  # (a debootstrap rootfs run by a private dockerd)
  docker.io debootstrap
)

apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
# Only docker-registry's program is wanted (tests serve their own on 127.0.0.1): the package's
# service, which would listen on every address, is stopped and disabled where systemd runs.
if [ -d /run/systemd/system ] && systemctl is-enabled docker-registry.service >/dev/null 2>&1; then
  systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
fi
