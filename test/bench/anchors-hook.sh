#!/usr/bin/env bash
# anchors-hook.sh: plugs rayfish into ../shared/bench/anchors.sh.
#   ANC_HOOK=test/bench/anchors-hook.sh RAY_BIN=build/bin/ray bash anchors.sh
# Args: up|down NS_A NS_B UNDERLAY_A UNDERLAY_B WORKDIR; env ANC_INDEX.
# "up" starts a daemon in each namespace, makes a network, joins B, opens
# B's firewall for the benchmark, and prints B's overlay IPv4 last.
set -eu
cmd=$1 nsa=$2 nsb=$3 dir=$6
i=${ANC_INDEX:-9}
RAY=${RAY_BIN:-$(dirname "$0")/../../build/bin/ray}
RAY=$(readlink -f "$RAY")
port=$((41400 + i))
ray() { local side=$1; shift; "$RAY" --socket "$dir/$side.sock" "$@"; }
case $cmd in
up)
  for side in a b; do
    ns=$nsa; [ $side = b ] && ns=$nsb
    ip netns exec "$ns" "$RAY" daemon --state-dir "$dir/$side" --socket "$dir/$side.sock" \
      --listen-port $port --tun rfbench$i --hostname "bench$side" --no-dns >"$dir/$side.log" 2>&1 &
  done
  for side in a b; do
    for _ in $(seq 100); do ray $side status >/dev/null 2>&1 && break; sleep 0.1; done
  done
  ray a create bench >&2
  ray b join "$(ray a invite bench | tail -n 1)" >&2
  for side in a b; do ray $side firewall default in allow >/dev/null; done
  for _ in $(seq 100); do
    ray a status --json | grep -q '"online": true' && break; sleep 0.1
  done
  ray b status --json | sed -n 's/.*"ipv4": "\(100\.[0-9.]*\)".*/\1/p' | head -n 1
  ;;
down)
  ;;
esac
