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
# Everything (binary, configs, data dirs, logs, pid files) lives under one
# temporary folder that `up` prints. This script installs nothing: it says
# what is missing. CLUSTER_BIN=path uses a prebuilt goim-edge binary;
# CLUSTER_PORT_OFFSET=N adds N to every port (to run beside something else).
# Every Kitex call carries rpc.secret: $GOIM_RPC_SECRET when set, else a
# random one `up` generates and keeps in the folder (conf/rpc.secret).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${TMPDIR:-/tmp}/goim-edge-cluster.state
OFF=${CLUSTER_PORT_OFFSET:-0}
p() { echo $(($1 + OFF)); }

REDIS_PORT=$(p 26379)
ETCD_PORT=$(p 22379)
ETCD_PEER=$(p 22380)
LOGIC_HTTP=$(p 3111)
LOGIC_RPC=$(p 3119)
LOGIC_ADMIN=$(p 3118)
JOB_ADMIN=$(p 3128)
# name tcp ws rpc admin
EDGES=("edge-1 $(p 3101) $(p 3102) $(p 3109) $(p 3108)" "edge-2 $(p 3201) $(p 3202) $(p 3209) $(p 3208)")
# Stop order: edges first (devices reconnect elsewhere), then job, logic, etcd, redis.
ORDER=(edge-2 edge-1 job logic etcd redis)

die() { echo "cluster: $*" >&2; exit 1; }
say() { echo "cluster: $*"; }

find_bin() {
  local n
  for n in "$@"; do
    command -v "$n" 2>/dev/null && return 0
    for d in /usr/bin /usr/sbin /usr/local/bin; do [ -x "$d/$n" ] && { echo "$d/$n"; return 0; }; done
  done
  return 1
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# http_status PORT PATH: the HTTP status code, or 000.
http_status() {
  local line
  line=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3 && timeout 3 head -n1 <&3) 2>/dev/null || true)
  set -- $line
  echo "${2:-000}"
}

redis_ping() {
  local line
  line=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'PING\r\n' >&3 && timeout 2 head -n1 <&3) 2>/dev/null || true)
  [[ $line == +PONG* ]]
}

wait_for() { # NAME SECONDS COMMAND...
  local name=$1 secs=$2; shift 2
  local i
  for ((i = 0; i < secs * 10; i++)); do
    "$@" && return 0
    running "$(pid_of "$name")" || die "$name exited while starting; see $DIR/logs/$name.log:
$(tail -n 20 "$DIR/logs/$name.log" 2>/dev/null)"
    sleep 0.1
  done
  die "$name not ready after ${secs}s; see $DIR/logs/$name.log"
}

pid_of() { cat "$DIR/pids/$1.pid" 2>/dev/null || true; }

# running PID: the process exists and is not a zombie waiting to be reaped
# (its parent, the shell that ran `up`, is gone).
running() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [ "$state" != Z ]
}

# pid_alive NAME: the recorded process still runs and is still ours (the
# same executable), so a reused pid is never signalled.
pid_alive() {
  local pid exe
  pid=$(pid_of "$1")
  [ -n "$pid" ] && running "$pid" || return 1
  exe=$(cat "$DIR/pids/$1.exe" 2>/dev/null || true)
  [ -z "$exe" ] || [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ]
}

start() { # NAME BINARY ARGS...
  local name=$1 bin=$2; shift 2
  nohup "$bin" "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name.pid"
  readlink -f "$bin" >"$DIR/pids/$name.exe"
}

cmd_up() {
  [ -f "$STATE" ] && [ -d "$(cat "$STATE")" ] && die "a cluster is already up at $(cat "$STATE"); run: $0 down"
  local missing=() redis etcd go
  redis=$(find_bin redis-server) || missing+=("redis-server (Debian: apt-get install redis-server)")
  etcd=$(find_bin etcd) || missing+=("etcd (Debian: apt-get install etcd-server)")
  if [ -z "${CLUSTER_BIN:-}" ]; then
    go=$(find_bin go) || missing+=("go (https://go.dev/dl), or set CLUSTER_BIN to a built goim-edge")
  fi
  command -v timeout >/dev/null || missing+=("timeout (coreutils)")
  [ ${#missing[@]} -eq 0 ] || die "missing, install and retry:$(printf '\n  - %s' "${missing[@]}")"

  local busy=() port
  for port in $REDIS_PORT $ETCD_PORT $ETCD_PEER $LOGIC_HTTP $LOGIC_RPC $LOGIC_ADMIN $JOB_ADMIN; do port_open "$port" && busy+=("$port"); done
  for e in "${EDGES[@]}"; do set -- $e; for port in $2 $3 $4 $5; do port_open "$port" && busy+=("$port"); done; done
  [ ${#busy[@]} -eq 0 ] || die "ports already in use on 127.0.0.1: ${busy[*]} (is another goim-edge running? make run?)"

  DIR=$(mktemp -d "${TMPDIR:-/tmp}/goim-edge-cluster.XXXXXX")
  mkdir -p "$DIR"/{bin,conf,logs,pids,data/redis,data/etcd}
  echo "$DIR" >"$STATE"
  say "folder $DIR"

  local bin
  if [ -n "${CLUSTER_BIN:-}" ]; then
    bin=$(readlink -f "$CLUSTER_BIN")
    [ -x "$bin" ] || die "CLUSTER_BIN=$CLUSTER_BIN is not an executable"
  else
    say "building goim-edge"
    (cd "$ROOT" && "$go" build -o "$DIR/bin/goim-edge" .) || die "go build failed"
    bin=$DIR/bin/goim-edge
  fi

  start redis "$redis" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$DIR/data/redis" --protected-mode no
  start etcd "$etcd" --name local --data-dir "$DIR/data/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "local=http://127.0.0.1:$ETCD_PEER" --initial-cluster-state new --log-level warn
  wait_for redis 20 redis_ping "$REDIS_PORT"
  wait_for etcd 20 test_http_ok "$ETCD_PORT" /health
  say "redis 127.0.0.1:$REDIS_PORT, etcd 127.0.0.1:$ETCD_PORT ready"

  RPC_SECRET=${GOIM_RPC_SECRET:-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')}
  [ ${#RPC_SECRET} -ge 16 ] || die "GOIM_RPC_SECRET must be at least 16 characters"
  (umask 077 && printf '%s\n' "$RPC_SECRET" >"$DIR/conf/rpc.secret")
  write_configs
  start logic "$bin" logic -config "$DIR/conf/logic.toml"
  wait_for logic 30 test_http_ok "$LOGIC_ADMIN" /readyz
  start job "$bin" job -config "$DIR/conf/job.toml"
  local e
  for e in "${EDGES[@]}"; do set -- $e; start "$1" "$bin" edge -config "$DIR/conf/$1.toml"; done
  wait_for job 30 test_http_ok "$JOB_ADMIN" /readyz
  for e in "${EDGES[@]}"; do set -- $e; wait_for "$1" 30 test_http_ok "$5" /readyz; done

  cat <<EOF
cluster: up. Logs: $DIR/logs   Stop: $0 down
  demo page     http://127.0.0.1:$LOGIC_HTTP/
  push API      curl -d 'hello' 'http://127.0.0.1:$LOGIC_HTTP/goim/push/mids?operation=1000&mids=123'
  Kitex Push    127.0.0.1:$LOGIC_RPC, rpc.secret in $DIR/conf/rpc.secret
  edge-1        tcp 127.0.0.1:$(p 3101)  ws ws://127.0.0.1:$(p 3102)/sub
  edge-2        tcp 127.0.0.1:$(p 3201)  ws ws://127.0.0.1:$(p 3202)/sub
EOF
}

test_http_ok() { [ "$(http_status "$1" "$2")" = 200 ]; }

common_config() { # NODE_ID
  cat <<EOF
[log]
level = "info"

[node]
id = "$1"
env = "local"
region = "local"
advertise_host = "127.0.0.1"

[shutdown]
timeout = "15s"

[registry]
kind = "etcd"

[registry.etcd]
endpoints = ["127.0.0.1:$ETCD_PORT"]
lease_ttl = "5s"

[rpc]
secret = "$RPC_SECRET"
EOF
}

write_configs() {
  {
    common_config logic-1
    cat <<EOF

[logic]
http_addr = "127.0.0.1:$LOGIC_HTTP"
rpc_addr = "127.0.0.1:$LOGIC_RPC"
admin_addr = "127.0.0.1:$LOGIC_ADMIN"
demo_ws_url = "ws://127.0.0.1:$(p 3102)/sub"

[auth]
# Everything here listens on loopback: the trusted network json needs
# (it believes whatever a device claims; docs/security.md).
mode = "json"

[store]
kind = "redis"

[store.redis]
addr = "127.0.0.1:$REDIS_PORT"

[queue]
kind = "redis"

[queue.redis]
addr = "127.0.0.1:$REDIS_PORT"
EOF
  } >"$DIR/conf/logic.toml"
  {
    common_config job-1
    cat <<EOF

[job]
admin_addr = "127.0.0.1:$JOB_ADMIN"

[queue]
kind = "redis"

[queue.redis]
addr = "127.0.0.1:$REDIS_PORT"
consumer = "job-1"
EOF
  } >"$DIR/conf/job.toml"
  local e
  for e in "${EDGES[@]}"; do
    set -- $e
    {
      common_config "$1"
      cat <<EOF

[edge]
tcp_addr = "127.0.0.1:$2"
ws_addr = "127.0.0.1:$3"
rpc_addr = "127.0.0.1:$4"
admin_addr = "127.0.0.1:$5"
EOF
    } >"$DIR/conf/$1.toml"
  done
}

load_state() {
  [ -f "$STATE" ] || { say "no cluster is up (no $STATE)"; return 1; }
  DIR=$(cat "$STATE")
  [ -d "$DIR" ] || { say "state points at missing $DIR; removing it"; rm -f "$STATE"; return 1; }
}

cmd_status() {
  load_state || return 0
  say "folder $DIR"
  local name pid ready port
  for name in redis etcd logic job edge-1 edge-2; do
    pid=$(pid_of "$name")
    if pid_alive "$name"; then
      case $name in
        redis) redis_ping "$REDIS_PORT" && ready=ready || ready=unready ;;
        etcd) ready="health $(http_status "$ETCD_PORT" /health)" ;;
        logic) ready="readyz $(http_status "$LOGIC_ADMIN" /readyz)" ;;
        job) ready="readyz $(http_status "$JOB_ADMIN" /readyz)" ;;
        edge-1) ready="readyz $(http_status "$(p 3108)" /readyz)" ;;
        edge-2) ready="readyz $(http_status "$(p 3208)" /readyz)" ;;
      esac
      printf '  %-7s pid %-7s running  %s\n' "$name" "$pid" "$ready"
    else
      printf '  %-7s pid %-7s stopped\n' "$name" "${pid:--}"
    fi
  done
}

cmd_down() {
  load_state || return 0
  local name pid i
  for name in "${ORDER[@]}"; do
    pid=$(pid_of "$name")
    [ -n "$pid" ] || continue
    if pid_alive "$name"; then
      kill -TERM "$pid" 2>/dev/null || true
      for ((i = 0; i < 200; i++)); do running "$pid" || break; sleep 0.1; done
      if running "$pid"; then
        say "$name (pid $pid) did not stop in 20s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
      say "stopped $name (pid $pid)"
    fi
    rm -f "$DIR/pids/$name.pid" "$DIR/pids/$name.exe"
  done
  rm -f "$STATE"
  say "down. Logs and data stay in $DIR (rm -rf it when done)"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
