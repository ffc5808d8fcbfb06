#!/usr/bin/env bash
# A goim-edge cluster on loopback for trying the cluster mode by hand:
#   redis-server 26379 · etcd 22379 (peer 22380) · logic HTTP 3111, RPC 3119 (admin 3118)
#   one job (admin 3128) · edge-1 TCP 3101, WS 3102, RPC 3109 (admin 3108)
#   edge-2 TCP 3201, WS 3202, RPC 3209 (admin 3208) · queue: redis Streams
#
#   deploy/local/cluster.sh up       build the binary, start everything, wait until ready
#   deploy/local/cluster.sh status   what runs, and each node's /readyz
#   deploy/local/cluster.sh down     stop exactly the processes `up` started
#
# This is a thin wrapper: the one implementation is bench/cmd/cluster
# (package bench/cluster); flags after the command pass through (`up -edges
# 4 -jobs 2 -queue kafka`, `-h` lists them). Everything (binary, configs,
# data dirs, logs, state.json) lives in the cluster's own folder,
# $TMPDIR/goim-edge-cluster-<offset> unless -dir says otherwise, so
# clusters on different offsets never share state. CLUSTER_BIN=path uses a
# prebuilt goim-edge binary; CLUSTER_PORT_OFFSET=N adds N to every port.
# It runs from the repository root: a relative -dir or -bin is taken from
# there.
# Every Kitex call carries rpc.secret: $GOIM_RPC_SECRET when set, else a
# random one `up` generates and keeps in the folder (conf/rpc.secret).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v go >/dev/null || { echo "cluster: go not found (https://go.dev/dl); it runs bench/cmd/cluster" >&2; exit 1; }
if [ -n "${CLUSTER_BIN:-}" ]; then
  CLUSTER_BIN=$(cd "$(dirname "$CLUSTER_BIN")" && pwd)/$(basename "$CLUSTER_BIN")
  export CLUSTER_BIN
fi
export CLUSTER_SELF=${CLUSTER_SELF:-$0}
cd "$ROOT"
exec go run ./bench/cmd/cluster "$@"
