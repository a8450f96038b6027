#!/usr/bin/env bash
# Runs the same load against a local 3-member etcdpp cluster and a local
# 3-member etcd cluster (Debian's etcd-server), one after the other, on
# loopback with data dirs under a temp dir, and prints loadgen's summary for
# each.
#
#   bash bench/compare.sh [loadgen flags...]
#   bash bench/compare.sh --op=put --conns=10 --clients=200 --total=50000
#
# COMPARE_WITH=/path/to/binary compares with that server (another etcdpp
# build, say) instead of Debian's etcd.
#
# Default load: puts of 256-byte values over 100k keys, 200 clients in
# flight over 10 connections, 30000 requests. The machine is shared: run it
# more than once and on a quiet machine before believing a difference.
set -euo pipefail
cd "$(dirname "$0")/.."
load=("$@")
[ "${#load[@]}" -eq 0 ] && load=(--op=put --conns=10 --clients=200 --total=30000)

bazel build -c opt //server:etcdpp //bench:loadgen >/dev/null 2>&1
etcdpp=bazel-bin/server/etcdpp
loadgen=bazel-bin/bench/loadgen
etcd="${COMPARE_WITH:-$(command -v etcd || true)}"
root="$(mktemp -d -t etcdpp-compare.XXXXXX)"
pids=()
cleanup() { kill -9 "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT

# start <binary> <label> <base port>: three members on base+{0..5}.
start() {
  local bin="$1" label="$2" base="$3" cluster="" i
  for i in 0 1 2; do
    cluster+="${cluster:+,}m$i=http://127.0.0.1:$((base + 2 * i + 1))"
  done
  for i in 0 1 2; do
    local client=$((base + 2 * i)) peer=$((base + 2 * i + 1))
    "$bin" --name "m$i" --data-dir "$root/$label-m$i" \
      --listen-client-urls "http://127.0.0.1:$client" \
      --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" \
      --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-token "$label" \
      --initial-cluster-state new 2>"$root/$label-m$i.log" &
    pids+=($!)
  done
  endpoints="127.0.0.1:$base,127.0.0.1:$((base + 2)),127.0.0.1:$((base + 4))"
  for _ in $(seq 100); do
    if ETCDCTL_API=3 etcdctl --endpoints="$endpoints" put warmup 1 >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "compare: $label did not come up; log tail:" >&2
  tail -5 "$root/$label-m0.log" >&2
  exit 1
}

stop() { kill -TERM "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=(); }

echo "== etcdpp ($(git rev-parse --short HEAD)) : ${load[*]}"
start "$etcdpp" etcdpp 41000
"$loadgen" --endpoints="$endpoints" "${load[@]}"
stop

if [ -z "$etcd" ]; then
  echo "compare: no etcd binary (apt-get install etcd-server)" >&2
  exit 1
fi
echo "== etcd ($("$etcd" --version | head -1)) : ${load[*]}"
start "$etcd" etcd 42000
"$loadgen" --endpoints="$endpoints" "${load[@]}"
stop
