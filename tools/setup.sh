#!/usr/bin/env bash
# Installs every Debian package etcdpp's build, tests and tools need.
# Idempotent: installs only what is missing, and runs `apt-get update` only
# when something is missing. Safe to run on every build.
set -euo pipefail

PACKAGES=(
  # Build system and toolchain.
  bazel-bootstrap g++ pkg-config
  # Fuzzing and sanitizers: the runtimes are only recommended by clang.
  clang-14 lld libclang-rt-14-dev
  # Libraries.
  libabsl-dev
  libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc
  librapidcheck-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  libssl-dev
  # bcrypt for user passwords (server/rpc/bcrypt.h).
  libcrypt-dev
  # Reference client and server for compatibility tests.
  etcd-client etcd-server
  # Test and tool helpers.
  python3 procps iproute2 curl
  # Makes throwaway certificates for the TLS tests.
  openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
