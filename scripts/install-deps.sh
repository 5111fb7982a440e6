#!/usr/bin/env bash
# Installs the Debian 12 packages Skiff builds and tests with. Idempotent: does nothing when every
# package is already installed, and only then runs apt-get update.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ccache
  libboost-dev libboost-program-options-dev
  libsqlite3-dev sqlite3
  nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libcereal-dev
  libnng-dev libmbedtls-dev libcurl4-openssl-dev libgoogle-perftools-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # packages (packaging/) and their test (tests/packaging/)
  dpkg-dev fakeroot lintian rpm help2man file python3 systemd
  # the runc runtime: OCI runtimes, pod networking, layer unpacking, test images, a local registry
  runc crun containernetworking-plugins iproute2 iptables libarchive-dev busybox-static docker-registry
  # service proxy modes and their tests/benchmarks (tests/conformance/proxy, bench/proxy)
  nftables libnftnl-dev libmnl-dev ipvsadm wrk
  # the userspace mode's peer in bench/proxy (BM_Throughput/haproxy)
  haproxy
)

missing=()
for p in "${packages[@]}"; do
  # Read whole, not piped into grep -q (under pipefail an early grep exit can fail the writer).
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "skiff: build dependencies already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "skiff: missing packages: ${missing[*]} — run as root (or with sudo) to install them" >&2
  exit 1
fi
echo "skiff: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
