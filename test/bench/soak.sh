#!/usr/bin/env bash
# soak.sh RAY_BIN [MINUTES] — a 5-node rayfish mesh in network namespaces
# on one bridge (underlay 198.18.117.0/24) under mixed traffic for MINUTES
# (default 30): pings around a ring all the time, a TCP transfer and a UDP
# stream between random pairs every few seconds, and every
# SOAK_RESTART_SECONDS (default 180, at most a third of the run) a random
# node other than n1 restarted, alternately by kill -9 and cleanly. It
# prints each daemon's RSS, goroutines and open fds first and last, and
# fails when n1 (never restarted) grew, a pair stopped answering, or any
# log holds a panic. Everything is torn down on exit.
set -euo pipefail
RAY=$(readlink -f "${1:?usage: soak.sh RAY_BIN [MINUTES]}")
MIN=${2:-30}
N=5
P=c16s
DIR=""
cleanup() {
  for i in $(seq 1 "$N"); do ip netns pids $P-$i 2>/dev/null | xargs -r kill -9 2>/dev/null || true; done
  sleep 1
  for i in $(seq 1 "$N"); do ip netns del $P-$i 2>/dev/null || true; rm -rf /etc/netns/$P-$i; done
  ip netns del $P-sw 2>/dev/null || true
  if [ -n "$DIR" ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT
cleanup
DIR=$(mktemp -d /tmp/rfsoak.XXXXXX)
ip netns add $P-sw
ip -n $P-sw link add br0 type bridge
ip -n $P-sw link set br0 up
for i in $(seq 1 "$N"); do
  ip netns add $P-$i
  mkdir -p /etc/netns/$P-$i && echo "nameserver 127.0.0.1" >/etc/netns/$P-$i/resolv.conf
  ip link add v$i netns $P-$i type veth peer name p$i netns $P-sw
  ip -n $P-sw link set p$i master br0 up
  ip -n $P-$i link set lo up
  ip -n $P-$i addr add 198.18.117.$i/24 dev v$i
  ip -n $P-$i link set v$i up
done
ray() { local i=$1; shift; "$RAY" --socket "$DIR/$i.sock" "$@"; }
start() {
  local i=$1
  ip netns exec $P-$i "$RAY" daemon --state-dir "$DIR/s$i" --socket "$DIR/$i.sock" --hostname n$i --no-dns \
    --pprof 127.0.0.1:6060 >>"$DIR/$i.log" 2>&1 &
  for _ in $(seq 100); do ray "$i" status >/dev/null 2>&1 && return; sleep 0.1; done
  echo "n$i: API not up"; exit 1
}
daemon_pid() {
  local p
  for p in $(ip netns pids $P-"$1"); do
    if [ "$(readlink /proc/"$p"/exe)" = "$RAY" ]; then echo "$p"; return; fi
  done
}
# sample I: "RSS_MB GOROUTINES FDS" of node I's daemon.
sample() {
  local pid g
  pid=$(daemon_pid "$1")
  g=$(ip netns exec $P-$1 curl -sf 'http://127.0.0.1:6060/debug/pprof/goroutine?debug=1' | awk 'NR == 1 {print $NF}')
  echo "$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/"$pid"/status) $g $(ls /proc/"$pid"/fd | wc -l)"
}
for i in $(seq 1 "$N"); do start "$i"; done
ray 1 create soak >/dev/null
code=$(ray 1 invite soak --reusable | tail -n 1)
for i in $(seq 2 "$N"); do ray "$i" join "$code" >/dev/null; done
# The traffic below needs inbound TCP and UDP (the firewall denies them by default).
for i in $(seq 1 "$N"); do ray "$i" firewall default in allow >/dev/null; done
declare -A ip4
for i in $(seq 1 "$N"); do ip4[$i]=$(ray "$i" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["self"]["ipv4"])'); done
# allpairs: every ordered pair pings within 15 s, or report the ones that do not.
allpairs() {
  local deadline=$((SECONDS + 15)) bad
  while :; do
    bad=""
    for a in $(seq 1 "$N"); do for b in $(seq 1 "$N"); do
      [ "$a" = "$b" ] || ip netns exec $P-$a ping -c 1 -W 1 "${ip4[$b]}" >/dev/null 2>&1 || bad="$bad n$a→n$b"
    done; done
    [ -z "$bad" ] && return 0
    [ $SECONDS -ge $deadline ] && { echo "unreachable:$bad"; return 1; }
  done
}
allpairs
for i in $(seq 1 "$N"); do ip netns exec $P-$i iperf3 -s -D -1 >/dev/null 2>&1 || true; done
pingers() { for i in $(seq 1 "$N"); do
  ip netns exec $P-$i ping -q -i 0.2 "${ip4[$(((i % N) + 1))]}" >/dev/null 2>&1 &
done; }
pingers
# The first sample is taken after a warm-up of traffic (SOAK_WARMUP
# seconds, at most a sixth of the run): buffer pools fill as traffic
# first needs them.
declare -A first
warmup=${SOAK_WARMUP:-60}
[ $((MIN * 10)) -lt "$warmup" ] && warmup=$((MIN * 10))
warm_end=$((SECONDS + warmup))
restart_every=${SOAK_RESTART_SECONDS:-180}
[ $((MIN * 60 / 3)) -lt "$restart_every" ] && restart_every=$((MIN * 60 / 3))
end=$((SECONDS + MIN * 60))
next_restart=$((SECONDS + restart_every))
restarts=0 transfers=0 fails=0 kind=kill
echo "soak: $N nodes for $MIN min, a restart every ${restart_every}s"
while [ $SECONDS -lt $end ]; do
  a=$((RANDOM % N + 1)); b=$((RANDOM % N + 1))
  [ "$a" = "$b" ] && b=$(((a % N) + 1))
  # Mixed traffic: a 3 s TCP transfer or a 3 s 20 Mbit/s UDP stream.
  udp=""; [ $((RANDOM % 2)) = 0 ] && udp="-u -b 20M"
  ip netns exec $P-$b iperf3 -s -D -1 >/dev/null 2>&1 || true
  sleep 0.3
  # shellcheck disable=SC2086
  if ip netns exec $P-$a timeout 20 iperf3 -c "${ip4[$b]}" -t 3 $udp >/dev/null 2>&1; then
    transfers=$((transfers + 1))
  else
    fails=$((fails + 1))
  fi
  if [ -z "${first[1]:-}" ] && [ $SECONDS -ge $warm_end ]; then
    for i in $(seq 1 "$N"); do first[$i]=$(sample "$i"); done
  fi
  if [ $SECONDS -ge $next_restart ]; then
    v=$((RANDOM % (N - 1) + 2))
    pid=$(daemon_pid "$v")
    if [ "$kind" = kill ]; then kill -9 "$pid"; kind=clean; else kill "$pid"; kind=kill; fi
    wait "$pid" 2>/dev/null || true # the daemons are this shell's children
    t0=$SECONDS
    start "$v"
    if allpairs; then echo "  $((SECONDS - t0))s: n$v restarted, all pairs ping; n1 now: $(sample 1) (RSS_MB goroutines fds)"; else echo "  n$v restarted: pairs missing"; exit 1; fi
    ip netns exec $P-$v ping -q -i 0.2 "${ip4[$(((v % N) + 1))]}" >/dev/null 2>&1 &
    restarts=$((restarts + 1))
    next_restart=$((SECONDS + restart_every))
  fi
  sleep 2
done
allpairs
echo "traffic: $transfers transfers done, $fails failed (a restart in flight fails one); $restarts restarts"
echo "node  first: RSS_MB goroutines fds  last: RSS_MB goroutines fds"
status=0
for i in $(seq 1 "$N"); do
  last=$(sample "$i")
  echo "n$i    ${first[$i]}    $last"
  if [ "$i" = 1 ]; then
    read -r r0 g0 f0 <<<"${first[$i]}"
    read -r r1 g1 f1 <<<"$last"
    if [ "$g1" -gt $((g0 + 12)) ] || [ "$f1" -gt $((f0 + 6)) ] || [ "$(echo "$r1 > $r0 * 1.5 + 5" | bc)" = 1 ]; then
      echo "n1 (never restarted) grew"; status=1
    fi
  fi
done
panics=$(cat "$DIR"/*.log | grep -c 'panic:' || true)
echo "panics in the logs: $panics"
[ "$panics" -eq 0 ] || status=1
exit $status
