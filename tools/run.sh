#!/usr/bin/env bash
# The README's run command: sets up, builds and starts a single etcdpp node
# on 127.0.0.1:2379 (peer 2380), data dir ./default.etcdpp, as etcd does.
# Extra arguments are passed to the node as flags.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh

bazel build -c opt //server:etcdpp
echo "etcdpp: starting a single-member cluster on 127.0.0.1:2379 (try:"
echo "  ETCDCTL_API=3 etcdctl put foo bar; ETCDCTL_API=3 etcdctl get foo)"
exec bazel-bin/server/etcdpp "$@"
