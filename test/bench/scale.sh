#!/usr/bin/env bash
# scale.sh RAY_BIN [N] — an N-node rayfish mesh (default 50) in network
# namespaces on one bridge (underlay 198.18.200.0/24): one node creates a
# network, the others join with one reusable code, then it measures how
# long until every node sees every other online, pings every ordered pair,
# and reports idle CPU and daemon memory (RSS). Everything is torn down on exit.
# Drops (by reason, from every daemon's loopback metrics) while pinging
# and the packets of the idle window are summed over the daemons.
#
# Neighbours are static: the kernel's ARP table is shared by all network
# namespaces and holds at most net.ipv4.neigh.default.gc_thresh3 (1024)
# learned entries in total, which N*(N-1) entries pass at N=33; past it,
# sends fail with ENOBUFS and nodes look unreachable. Permanent entries
# do not count against that limit, and the host's settings stay untouched.
set -euo pipefail
export LC_ALL=C # sort and join agree
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
mac() { printf '02:00:c6:12:%02x:%02x' $(($1 / 256)) $(($1 % 256)); }
ip netns add $P-sw
ip -n $P-sw link add br0 type bridge
ip -n $P-sw link set br0 up
for i in $(seq 1 "$N"); do
  ip netns add $P-$i
  ip link add v$i netns $P-$i type veth peer name p$i netns $P-sw
  ip -n $P-sw link set p$i master br0 up
  ip -n $P-$i link set lo up
  ip -n $P-$i addr add 198.18.200.$i/24 dev v$i
  ip -n $P-$i link set v$i address "$(mac "$i")" up
done
for i in $(seq 1 "$N"); do
  for j in $(seq 1 "$N"); do
    [ "$i" = "$j" ] || echo "neigh replace 198.18.200.$j lladdr $(mac "$j") dev v$i nud permanent"
  done >"$DIR/neigh$i"
  ip -n $P-$i -batch "$DIR/neigh$i"
done
t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
  ip netns exec $P-$i "$RAY" daemon --state-dir "$DIR/s$i" --socket "$DIR/$i.sock" --hostname n$i --no-dns --no-dht --metrics 127.0.0.1:9464 ${RAY_DAEMON_ARGS:-} >"$DIR/$i.log" 2>&1 &
done
ray() { local i=$1; shift; "$RAY" --socket "$DIR/$i.sock" "$@"; }
# counters FILE: every daemon's drop and transport counters (its metrics,
# on loopback in its own namespace), summed over the daemons.
counters() {
  for i in $(seq 1 "$N"); do
    ip netns exec $P-$i bash -c 'exec 3<>/dev/tcp/127.0.0.1/9464 &&
      printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && cat <&3' 2>/dev/null || true
  done | awk '/^rayfish_(drops|transport)_total\{/ {s[$1] += $2} END {for (k in s) printf "%s %.0f\n", k, s[k]}' | sort >"$1"
}
# grown A B [REGEX]: the counters (matching REGEX) that grew from A to
# B, as " name +n".
grown() {
  join <(grep -E "${3:-.}" "$1") <(grep -E "${3:-.}" "$2") |
    awk '$3 > $2 {sub(/^rayfish_[a-z]+_total\{[a-z]+="/, "", $1); sub(/"\}$/, "", $1); printf " %s +%d", $1, $3 - $2}'
}
for i in $(seq 1 "$N"); do
  for _ in $(seq 200); do ray $i status >/dev/null 2>&1 && break; sleep 0.1; done
done
ray 1 create scale >/dev/null
code=$(ray 1 invite scale --reusable | tail -n 1)
# All N-1 join at once: the inviting node's QUIC server refuses
# handshakes past its accept queue (CONNECTION_REFUSED), so a refused
# join is tried again, and counted.
join_net() {
  for _ in 1 2 3; do
    ray "$1" join "$code" >/dev/null 2>"$DIR/join$1.err" && return
    echo "$1" >>"$DIR/joinretry"
    sleep 1
  done
  cat "$DIR/join$1.err" >&2
}
for i in $(seq 2 "$N"); do join_net $i & done
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
if [ -s "$DIR/joinretry" ]; then echo "joins tried again: $(wc -l <"$DIR/joinretry") (refused while all joined at once)"; fi
if [ -n "$full" ]; then
  echo "full mesh: every node sees all $((N - 1)) peers online ${full}s after the daemons were started"
else
  echo "full mesh NOT reached in ${SCALE_TIMEOUT:-180} s: $done_nodes of $N nodes complete"
fi
# Every ordered pair, over the overlay: each node pings all the others at once.
declare -A ip4
for i in $(seq 1 "$N"); do
  ip4[$i]=$(ray $i status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["self"]["ipv4"])')
done
counters "$DIR/c0"
fails=0
for a in $(seq 1 "$N"); do
  pids=()
  for b in $(seq 1 "$N"); do
    [ "$a" = "$b" ] && continue
    { ip netns exec $P-$a ping -c 1 -W 3 "${ip4[$b]}" >/dev/null 2>&1 || echo "$a $b"; } >>"$DIR/pingfail$a" &
    pids+=($!)
  done
  wait "${pids[@]}"
  if [ -s "$DIR/pingfail$a" ]; then fails=$((fails + $(wc -l <"$DIR/pingfail$a"))); fi
done
pinged=$(echo "$(date +%s.%N) - $t0" | bc)
counters "$DIR/c1"
echo "ping over the overlay, all $((N * (N - 1))) ordered pairs: $fails failures (done ${pinged}s after start)"
echo "drops while pinging, all daemons:$(grown "$DIR/c0" "$DIR/c1" 'drops_total|"drop_')"
if [ "$fails" -gt 0 ]; then
  # Which pairs, what the sender thought of the path, and whether a
  # second ping gets through.
  cat "$DIR"/pingfail* | awk 'NR <= 20' | while read -r a b; do
    path=$(ray "$a" status --json | python3 -c 'import json,sys
for p in json.load(sys.stdin)["peers"]:
    if p["hostname"] == "n'"$b"'": print(p["state"], p["path"], p.get("endpoint", ""), p.get("carrier", ""))')
    again=fails; ip netns exec $P-$a ping -c 1 -W 3 "${ip4[$b]}" >/dev/null 2>&1 && again=answers
    echo "  n$a -> n$b: $path; a second ping $again"
  done
fi
if [ -n "${SCALE_KEEP_LOGS:-}" ]; then mkdir -p "$SCALE_KEEP_LOGS" && cp "$DIR"/*.log "$SCALE_KEEP_LOGS"/; fi
# Idle cost: CPU of all daemons over SCALE_IDLE_SECONDS (default 60 s, three
# of a calm path's 20 s heartbeats, so the window's phase does not matter)
# once the mesh is quiet (peers count as busy for 45 s after the last data,
# the pings above).
W=${SCALE_IDLE_SECONDS:-60}
pids=$(for i in $(seq 1 "$N"); do ip netns pids $P-$i | head -n 1; done)
ticks() { for p in $pids; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s}'; }
sleep "${SCALE_IDLE_WAIT:-60}"
counters "$DIR/i0"
c0=$(ticks); sleep "$W"; c1=$(ticks)
counters "$DIR/i1"
hz=$(getconf CLK_TCK)
echo "idle CPU over $W s, ${SCALE_IDLE_WAIT:-60} s after the pings: $(echo "($c1 - $c0) * 100 / $hz / $W" | bc -l | xargs printf '%.1f')% of one core for all $N daemons"
echo "idle traffic in those $W s, all daemons:$(grown "$DIR/i0" "$DIR/i1")"
rss=$(for i in $(seq 1 "$N"); do
  pid=$(ip netns pids $P-$i | head -n 1)
  awk '/VmRSS/ {print $2}' /proc/$pid/status
done | sort -n)
echo "daemon RSS (MB) min/median/max: $(echo "$rss" | head -n 1 | awk '{printf "%.1f", $1/1024}') / $(echo "$rss" | sed -n "$(( (N + 1) / 2 ))p" | awk '{printf "%.1f", $1/1024}') / $(echo "$rss" | tail -n 1 | awk '{printf "%.1f", $1/1024}') with $((N - 1)) peers each"
# SCALE_IDLE_AGAIN=S: the idle CPU once more, S s after the pings: a
# quiet path's heartbeat backs off with how long it has been calm, so the
# figure soon after the pings is not yet the steady one.
if [ -n "${SCALE_IDLE_AGAIN:-}" ]; then
  sleep $((SCALE_IDLE_AGAIN - ${SCALE_IDLE_WAIT:-60} - W))
  counters "$DIR/i2"
  c0=$(ticks); sleep "$W"; c1=$(ticks)
  counters "$DIR/i3"
  echo "idle CPU over $W s, $SCALE_IDLE_AGAIN s after the pings: $(echo "($c1 - $c0) * 100 / $hz / $W" | bc -l | xargs printf '%.1f')% of one core for all $N daemons"
  echo "idle traffic in those $W s, all daemons:$(grown "$DIR/i2" "$DIR/i3")"
fi
[ -n "$full" ] && [ "$fails" -eq 0 ]
