#!/usr/bin/env bash
# demo.sh RAY_BIN — three network namespaces on one bridge, three rayfish
# daemons, create / invite / join, then status and pings. Everything is
# torn down on exit. Underlay: 198.18.7.0/24 inside namespaces we create.
set -euo pipefail
RAY=${1:?usage: demo.sh path/to/ray}
P=rfdemo
DIR=""
NODES=(alpha beta gamma)

cleanup() {
  for n in "${NODES[@]}" sw; do
    ip netns pids "$P-$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  sleep 0.5
  for n in "${NODES[@]}" sw; do ip netns del "$P-$n" 2>/dev/null || true; done
  if [ -n "$DIR" ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT
cleanup 2>/dev/null || true
DIR=$(mktemp -d /tmp/rfdemo.XXXXXX)

ip netns add $P-sw
ip -n $P-sw link add br0 type bridge
ip -n $P-sw link set br0 up
i=1
for n in "${NODES[@]}"; do
  ip netns add $P-$n
  ip link add $P$i netns $P-$n type veth peer name p$n netns $P-sw
  ip -n $P-sw link set p$n master br0 up
  ip -n $P-$n link set lo up
  ip -n $P-$n link set $P$i name eth0
  ip -n $P-$n addr add 198.18.7.$i/24 dev eth0
  ip -n $P-$n link set eth0 up
  ip netns exec $P-$n "$RAY" daemon --state-dir "$DIR/$n" --socket "$DIR/$n.sock" --hostname $n --no-dns --no-dht >"$DIR/$n.log" 2>&1 &
  i=$((i + 1))
done
ray() { local n=$1; shift; "$RAY" --socket "$DIR/$n.sock" "$@"; }
for n in "${NODES[@]}"; do
  for _ in $(seq 50); do ray $n status >/dev/null 2>&1 && break; sleep 0.1; done
done

echo "== alpha: ray create home"
ray alpha create home
for n in beta gamma; do
  echo "== alpha: ray invite home"
  code=$(ray alpha invite home | tail -n 1)
  echo "$code"
  echo "== $n: ray join <code>"
  ray $n join "$code"
done
sleep 1
for n in "${NODES[@]}"; do
  echo "== $n: ray status"
  ray $n status
done
echo "== beta: ray ping gamma -c 3"
ray beta ping gamma -c 3 -i 200ms
gamma4=$(ray gamma status --json | sed -n 's/.*"ipv4": "\(100\.[0-9.]*\)".*/\1/p' | head -n 1)
echo "== alpha: ping -c 3 $gamma4 (kernel ICMP through the TUN)"
ip netns exec $P-alpha ping -c 3 -i 0.2 "$gamma4"
