#!/usr/bin/env bash
# anchors-hook.sh: plugs rayfish into ../shared/bench/anchors.sh.
#   ANC_HOOK=test/bench/anchors-hook.sh RAY_BIN=build/bin/ray bash anchors.sh
# Args: up|down NS_A NS_B UNDERLAY_A UNDERLAY_B WORKDIR; env ANC_INDEX, ANC_MTU.
# "up" starts a daemon in each namespace, makes a network, joins B, opens
# B's firewall for the benchmark, and prints B's overlay IPv4 last.
#
# Relayed mode: when ANC_MTU equals RAY_HOOK_RELAY_MTU, the pair runs
# through a relay (`ray relay` in NS_A) and nftables in both namespaces
# drop the daemons' UDP, as a firewall that blocks UDP would; the relay's
# CPU counts as the VPN's. (Our TUN MTU does not follow ANC_MTU, so the
# MTU only names the mode: `make bench` runs hook1420 direct and hook1421
# relayed side by side.) When ANC_MTU equals RAY_HOOK_DATAGRAM_MTU, the
# daemons run with --no-bulk: packets ride QUIC datagrams, the data path
# before the bulk channel (hook1422 in `make bench`, "rf-datagram").
set -eu
cmd=$1 nsa=$2 nsb=$3 ipa=$4 dir=$6
i=${ANC_INDEX:-9}
RAY=${RAY_BIN:-$(dirname "$0")/../../build/bin/ray}
RAY=$(readlink -f "$RAY")
port=$((41400 + i))
relayed=""
[ "${ANC_MTU:-}" = "${RAY_HOOK_RELAY_MTU:-none}" ] && relayed=1
ray() { local side=$1; shift; "$RAY" --socket "$dir/$side.sock" "$@"; }
case $cmd in
up)
  extra=()
  [ "${ANC_MTU:-}" = "${RAY_HOOK_DATAGRAM_MTU:-none}" ] && extra=(--no-bulk)
  if [ -n "$relayed" ]; then
    rport=$((8500 + i))
    # --rate 0: measure the VPN through the relay, not the default per-client cap
    ip netns exec "$nsa" "$RAY" relay --listen "$ipa:$rport" --stun-port 0 --rate 0 >"$dir/relay.log" 2>&1 &
    for ns in "$nsa" "$nsb"; do
      ip netns exec "$ns" nft -f - <<NFT
table inet rfbench$i {
  chain out {
    type filter hook output priority 0; policy accept;
    udp sport $port drop
    udp dport $port drop
  }
}
NFT
    done
    extra+=(--relay "http://$ipa:$rport")
    for _ in $(seq 50); do ip netns exec "$nsa" bash -c "</dev/tcp/$ipa/$rport" 2>/dev/null && break; sleep 0.1; done
  fi
  for side in a b; do
    ns=$nsa; [ $side = b ] && ns=$nsb
    ip netns exec "$ns" "$RAY" daemon --state-dir "$dir/$side" --socket "$dir/$side.sock" \
      --listen-port $port --tun rfbench$i --hostname "bench$side" --no-dns --no-dht "${extra[@]}" >"$dir/$side.log" 2>&1 &
  done
  for side in a b; do
    for _ in $(seq 100); do ray $side status >/dev/null 2>&1 && break; sleep 0.1; done
  done
  ray a create bench >&2
  ray b join "$(ray a invite bench | tail -n 1)" >&2
  for side in a b; do ray $side firewall default in allow >/dev/null; done
  want=direct
  [ -n "$relayed" ] && want=relay
  for _ in $(seq 100); do
    ray a status --json | grep -q "\"path\": \"$want\"" && break; sleep 0.1
  done
  ray a status | grep -E "^bench" >&2 || true
  ipv4() { ray "$1" status --json | sed -n 's/.*"ipv4": "\(100\.[0-9.]*\)".*/\1/p' | head -n 1; }
  oa=$(ipv4 a) ob=$(ipv4 b)
  # Host routes: with a second rayfish config in the same namespaces, both
  # TUNs carry a 100.64.0.0/10 prefix route and only the first one wins.
  ip -n "$nsa" route replace "$ob/32" dev rfbench$i
  ip -n "$nsb" route replace "$oa/32" dev rfbench$i
  echo "$ob"
  ;;
down)
  ;;
esac
