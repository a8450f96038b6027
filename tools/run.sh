#!/usr/bin/env bash
# The README's run command: sets up, builds and starts a single etcdpp node
# on 127.0.0.1:2379 (peer 2380), data dir ./default.etcdpp, as etcd does.
# Extra arguments are passed to the node as flags.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh

if [ -f server/main.cc ]; then
  bazel build -c opt //server:etcdpp
  exec bazel-bin/server/etcdpp "$@"
fi

# Until the server lands (issue 6) there is no node to start: build what
# exists and say so.
bazel build //...
echo
echo "etcdpp: built every target; the server binary (//server:etcdpp) does"
echo "not exist yet, so no node was started. Run 'bash tools/test.sh' to run"
echo "the tests of what exists."
