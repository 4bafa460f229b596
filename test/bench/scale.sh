#!/usr/bin/env bash
# scale.sh RAY_BIN [N] — an N-node rayfish mesh (default 50) in network
# namespaces on one bridge (underlay 198.18.200.0/24): one node creates a
# network, the others join with one reusable code, then it measures how
# long until every node sees every other online, samples pings, and
# reports daemon memory (RSS). Everything is torn down on exit.
set -euo pipefail
RAY=$(readlink -f "${1:?usage: scale.sh RAY_BIN [N]}")
N=${2:-50}
P=rfsc
DIR=""
cleanup() {
  for i in $(seq 0 "$N"); do ip netns pids $P-$i 2>/dev/null | xargs -r kill 2>/dev/null || true; done
  sleep 1
  for i in $(seq 0 "$N"); do ip netns del $P-$i 2>/dev/null || true; done
  ip netns del $P-sw 2>/dev/null || true
  if [ -n "$DIR" ]; then rm -rf "$DIR"; fi
}
trap cleanup EXIT
cleanup
DIR=$(mktemp -d /tmp/rfscale.XXXXXX)
ip netns add $P-sw
ip -n $P-sw link add br0 type bridge
ip -n $P-sw link set br0 up
for i in $(seq 1 "$N"); do
  ip netns add $P-$i
  ip link add v$i netns $P-$i type veth peer name p$i netns $P-sw
  ip -n $P-sw link set p$i master br0 up
  ip -n $P-$i link set lo up
  ip -n $P-$i addr add 198.18.200.$i/24 dev v$i
  ip -n $P-$i link set v$i up
done
t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  ip netns exec $P-$i "$RAY" daemon --state-dir "$DIR/s$i" --socket "$DIR/$i.sock" --hostname n$i --no-dns ${RAY_DAEMON_ARGS:-} >"$DIR/$i.log" 2>&1 &
done
ray() { local i=$1; shift; "$RAY" --socket "$DIR/$i.sock" "$@"; }
for i in $(seq 1 "$N"); do
  for _ in $(seq 200); do ray $i status >/dev/null 2>&1 && break; sleep 0.1; done
done
ray 1 create scale >/dev/null
code=$(ray 1 invite scale --reusable | tail -n 1)
for i in $(seq 2 "$N"); do ray $i join "$code" >/dev/null & done
wait_joins() { for job in $(jobs -p); do wait "$job" 2>/dev/null || true; done; }
joined=0
for _ in $(seq 300); do
  joined=$(ray 1 status --json | grep -c '"hostname": "n' || true)
  [ "$joined" -ge "$N" ] && break
  sleep 0.2
done
online() { ray "$1" status --json | grep -c '"online": true' || true; }
full=""
deadline=$((SECONDS + ${SCALE_TIMEOUT:-180}))
while [ $SECONDS -lt $deadline ]; do
  done_nodes=0
  for i in $(seq 1 "$N"); do [ "$(online $i)" -ge $((N - 1)) ] && done_nodes=$((done_nodes + 1)); done
  if [ "$done_nodes" -eq "$N" ]; then full=$(echo "$(date +%s.%N) - $t0" | bc); break; fi
  echo "  $(echo "$(date +%s.%N) - $t0" | bc | cut -d. -f1)s: $done_nodes of $N nodes see all peers" >&2
  sleep 1
done
echo "nodes: $N"
if [ -n "$full" ]; then
  echo "full mesh: every node sees all $((N - 1)) peers online ${full}s after the daemons were started"
else
  echo "full mesh NOT reached in ${SCALE_TIMEOUT:-180} s: $done_nodes of $N nodes complete"
fi
fails=0
for k in $(seq 1 10); do
  a=$(( (RANDOM % N) + 1 )); b=$(( (RANDOM % N) + 1 )); [ $a = $b ] && continue
  ip4=$(ray $b status --json | sed -n 's/.*"ipv4": "\(100\.[0-9.]*\)".*/\1/p' | head -n 1)
  ip netns exec $P-$a ping -c 1 -W 2 "$ip4" >/dev/null || fails=$((fails + 1))
done
echo "sample pings between random pairs: $fails failures"
rss=$(for i in $(seq 1 "$N"); do
  pid=$(ip netns pids $P-$i | head -n 1)
  awk '/VmRSS/ {print $2}' /proc/$pid/status
done | sort -n)
echo "daemon RSS (MB) min/median/max: $(echo "$rss" | head -n 1 | awk '{printf "%.1f", $1/1024}') / $(echo "$rss" | sed -n "$(( (N + 1) / 2 ))p" | awk '{printf "%.1f", $1/1024}') / $(echo "$rss" | tail -n 1 | awk '{printf "%.1f", $1/1024}') with $((N - 1)) peers each"
[ -n "$full" ] && [ "$fails" -eq 0 ]
