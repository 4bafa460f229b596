#!/usr/bin/env bash
# run.sh — the evidence behind `make screenshots` (mk/screenshots.mk).
#
# A real daemon pair in two network namespaces (laptop and nas, joined to
# the network "home", peers over a direct path), then the real rayfish app
# on laptop's socket under Xvfb with a private session D-Bus:
#   build/screenshots/networks-invite.png  Networks tab with an invite code and its QR
#   build/screenshots/main-peers.png       Peers tab: nas online, "direct" badge
#   build/screenshots/main-disconnected.png  the same after `ray down`
#   build/screenshots/join-joined.png      Networks tab after joining nas's network "lab"
#   build/screenshots/peer-details.png     nas's details after a click on its row
#   build/screenshots/map.png              Map tab: nas over a direct path, tv (a third
#                                          namespace whose UDP to laptop nftables drops)
#                                          through a relay
#   build/screenshots/firewall.png         Firewall tab with a rule added by `ray firewall add`
#                                          and nas's suggested rule pending (Accept, Deny)
#   build/screenshots/diagnostics.png      Diagnostics tab with a network check
#   build/screenshots/first-start.png      Peers tab of a third, fresh daemon in no network
# and the tray item checked over D-Bus (a stand-in StatusNotifierWatcher,
# sscheck watcher, since nothing draws tray icons here): title, status,
# tooltip, icon and menu while connected, after Disconnect, after Connect.
# Last, the app's CPU while idle with 50 busy peers (a stand-in daemon,
# sscheck fakedaemon): window open on Peers and on Map, and hidden.
#
# The desktop side runs as the unprivileged user alice (APP_USER), a member
# of the group rayfish as the .deb makes the installing user: her own
# session bus, Xvfb, tray watcher and the app, against the daemons running
# as root. Disconnect, Connect and "Join a network…" are clicked in the tray
# menu over com.canonical.dbusmenu as a panel does (sscheck click), the
# invite code is typed into the window, and each must change the daemon's
# state; the daemon's audit log must name alice for each change.
#
# Environment: RAY, RAYFISH, SSCHECK (binaries), OUT (PNG directory),
# APP_USER (default alice; created, and put in the group rayfish, for the
# run). Root only. Everything it starts is stopped on exit, whatever happens.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RAY=${RAY:-$ROOT/build/bin/ray}
RAYFISH=${RAYFISH:-$ROOT/build/bin/rayfish}
SSCHECK=${SSCHECK:-$ROOT/build/bin/sscheck}
OUT=${OUT:-$ROOT/build/screenshots}
P=${NS_PREFIX:-rfss} # network namespace prefix
NET=home
APP_USER=${APP_USER:-alice}
UNDO_USER=() # commands that undo the user and group changes, run on exit

DIR=""
PIDS=() # background processes, stopped in reverse order
FAILED=0
T0=$SECONDS

log() { printf '[%3ds] %s\n' $((SECONDS - T0)) "$*"; }
pass() { echo "PASS $*"; }
fail() {
  echo "FAIL $*"
  FAILED=1
}
die() {
  fail "$*"
  exit 1
}

# shellcheck source=lib.sh
. "$ROOT/test/screenshots/lib.sh"

delete_netns() {
  local ns
  for ns in $P-a $P-b $P-c; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  delete_netns
  for ((i = ${#UNDO_USER[@]} - 1; i >= 0; i--)); do eval "${UNDO_USER[i]}" >/dev/null 2>&1 || true; done
  if [ -n "$DIR" ] && [ -d "$DIR" ]; then
    mkdir -p "$OUT/logs"
    cp "$DIR"/*.log "$OUT/logs/" 2>/dev/null || true
    rm -rf "$DIR"
  fi
  if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
    echo "make screenshots: FAILED after $((SECONDS - T0)) s (logs in $OUT/logs)"
    exit 1
  fi
  echo "make screenshots: all checks passed in $((SECONDS - T0)) s; PNGs in $OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS DESCRIPTION COMMAND...: poll every 0.1 s.
wait_for() {
  local secs=$1 what=$2 end
  shift 2
  end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || die "timed out after ${secs}s waiting for $what"
    sleep 0.1
  done
}

for b in "$RAY" "$RAYFISH" "$SSCHECK"; do [ -x "$b" ] || die "missing binary $b"; done
[ "$(id -u)" -eq 0 ] || die "run as root (network namespaces)"
for c in Xvfb dbus-daemon xdotool import jq ip ping setpriv useradd; do command -v $c >/dev/null || die "missing $c (make screenshots-deps)"; done

delete_netns # leftovers of an interrupted run

# --- the desktop user --------------------------------------------------------
if ! getent group rayfish >/dev/null; then
  groupadd --system rayfish
  UNDO_USER+=("groupdel rayfish")
fi
if ! getent passwd "$APP_USER" >/dev/null; then
  useradd --no-create-home --shell /usr/sbin/nologin "$APP_USER"
  UNDO_USER+=("userdel $APP_USER")
fi
if ! id -nG "$APP_USER" | tr ' ' '\n' | grep -qx rayfish; then
  usermod -aG rayfish "$APP_USER"
  UNDO_USER+=("gpasswd -d $APP_USER rayfish")
fi
# "${AS_USER[@]}" CMD... runs CMD as the desktop user, with her groups, in
# this environment; setpriv execs, so for a background job $! is CMD's pid.
AS_USER=(setpriv --reuid="$APP_USER" --regid="$(id -g "$APP_USER")" --init-groups --)
as_user() { "${AS_USER[@]}" "$@"; }
log "desktop user: $(id "$APP_USER")"

DIR=$(mktemp -d /tmp/rfss.XXXXXX)
chmod 755 "$DIR" # the user reaches the daemon's socket in here
mkdir -p "$OUT" "$DIR/home" "$DIR/run"
chown "$APP_USER:" "$DIR/home" "$DIR/run"
chmod 700 "$DIR/run"
rm -f "$OUT"/*.png "$OUT"/logs/*.log

# --- daemon pair -----------------------------------------------------------
log "network namespaces $P-a (198.18.20.1) and $P-b (198.18.20.2)"
ip netns add $P-a
ip netns add $P-b
ip link add $P-va netns $P-a type veth peer name $P-vb netns $P-b
ip -n $P-a addr add 198.18.20.1/24 dev $P-va
ip -n $P-b addr add 198.18.20.2/24 dev $P-vb
for n in a b; do
  ip -n $P-$n link set lo up
  ip -n $P-$n link set $P-v$n up
done

ray() { local n=$1; shift; timeout 20 "$RAY" --socket "$DIR/$n.sock" "$@"; }
declare -A DAEMON_PID
start_daemon() { # start_daemon NODE HOSTNAME
  ip netns exec $P-$1 "$RAY" daemon --state-dir "$DIR/state-$1" --socket "$DIR/$1.sock" --hostname "$2" --no-dns --no-dht \
    >"$DIR/daemon-$2.log" 2>&1 &
  PIDS+=($!)
  DAEMON_PID[$1]=$!
}
start_daemon a laptop
start_daemon b nas
wait_for 15 "daemon laptop" ray a status
wait_for 15 "daemon nas" ray b status

log "laptop: ray create $NET; ray invite $NET; nas: ray join"
ray a create $NET >/dev/null
code=$(ray a invite $NET | tail -n 1)
ray b join "$code" >/dev/null
peer_direct() { # peer_direct NODE PEERNAME
  ray "$1" status --json | jq -e --arg h "$2" '.peers[]? | select(.hostname == $h and .online and .path == "direct")'
}
wait_for 30 "nas online over a direct path on laptop" peer_direct a nas
wait_for 30 "laptop online over a direct path on nas" peer_direct b laptop
pass "daemons: laptop and nas see each other online, path direct"
# A little traffic so the peer row shows an RTT (ray ping, over the mesh)
# and byte counts (kernel ICMP through laptop's TUN to nas's overlay address).
timeout 15 "$RAY" --socket "$DIR/a.sock" ping nas -c 3 -i 100ms >"$DIR/ping.log" 2>&1 ||
  die "ray ping nas failed: $(tail -n 1 "$DIR/ping.log")"
nas4=$(ray b status --json | jq -r .self.ipv4)
ip netns exec $P-a ping -c 3 -i 0.2 -W 2 "$nas4" >>"$DIR/ping.log" 2>&1 ||
  die "ping $nas4 through the TUN failed"

# --- the user's session bus, display, tray watcher --------------------------
log "$APP_USER's session D-Bus, Xvfb, StatusNotifierWatcher"
"${AS_USER[@]}" dbus-daemon --session --nofork --nopidfile --address="unix:path=$DIR/run/bus" >"$DIR/dbus.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the session bus" test -S "$DIR/run/bus"
export DBUS_SESSION_BUS_ADDRESS="unix:path=$DIR/run/bus"

mkdir -p /tmp/.X11-unix && chmod 1777 /tmp/.X11-unix
"${AS_USER[@]}" Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp -noreset 3>"$DIR/display" >"$DIR/xvfb.log" 2>&1 &
PIDS+=($!)
wait_for 10 "Xvfb" test -s "$DIR/display"
export DISPLAY=":$(head -n 1 "$DIR/display")"
unset WAYLAND_DISPLAY

"${AS_USER[@]}" "$SSCHECK" watcher --ready "$DIR/run/watcher.ready" >"$DIR/watcher.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the StatusNotifierWatcher" test -s "$DIR/run/watcher.ready"

# The app gets a home of its own: fresh preferences, its own instance socket.
export HOME="$DIR/home" XDG_RUNTIME_DIR="$DIR/run" XDG_CONFIG_HOME="$DIR/home/.config"
export FYNE_THEME=light FYNE_SCALE=1 LANG=en_US.UTF-8
unset LC_ALL LC_MESSAGES LANGUAGE

APP_PID=""
start_app() { # start_app LOGNAME ARGS...: rayfish on laptop's socket
  local name=$1
  shift
  "${AS_USER[@]}" "$RAYFISH" --socket "${APP_SOCK:-$DIR/a.sock}" "$@" >"$DIR/rayfish-$name.log" 2>&1 &
  APP_PID=$!
  PIDS+=("$APP_PID")
}
WIN=""
find_window() { WIN=$(as_user timeout 5 xdotool search --onlyvisible --name '^rayfish$' 2>/dev/null | head -n 1) && [ -n "$WIN" ]; }
no_window() { ! find_window; }

# shoot FILE CHECKS...: capture the window until sscheck png accepts it
# (the window may still be drawing): at most 10 s.
shoot() {
  local file=$1 end=$((SECONDS + 10))
  shift
  while :; do
    if as_user timeout 10 import -window "$WIN" "png:$DIR/run/shot.png" 2>>"$DIR/import.log" &&
      cp "$DIR/run/shot.png" "$file" && "$SSCHECK" png --file "$file" "$@" >"$DIR/png-check.out" 2>&1; then
      cat "$DIR/png-check.out"
      return 0
    fi
    if [ "$SECONDS" -ge "$end" ]; then
      cat "$DIR/png-check.out" 2>/dev/null || true
      fail "screenshot $file never passed its checks"
      return 1
    fi
    sleep 0.3
  done
}

# cpu_idle WHAT: the app's CPU over 5 s of idling, in % of one core (logged).
cpu_idle() {
  local t0 t1 hz
  hz=$(getconf CLK_TCK)
  sleep 1
  t0=$(awk '{print $14 + $15}' "/proc/$APP_PID/stat")
  sleep 5
  t1=$(awk '{print $14 + $15}' "/proc/$APP_PID/stat")
  log "app CPU while idle ($1): $(awk -v d=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.2f", 100 * d / hz / 5 }')% of a core"
}

tray() { # tray ARGS...: sscheck tray, failures recorded
  as_user "$SSCHECK" tray "$@" || fail "tray item check ($*)"
}
click() { # click LABEL: click the tray menu item LABEL as the user
  as_user "$SSCHECK" click --label "$1" || die "clicking \"$1\" in the tray menu"
}
daemon_state() { [ "$(ray "$1" status --json | jq -r .state)" = "$2" ]; }
in_network() { ray "$1" status --json | jq -e --arg n "$2" '.networks[]? | select(.name == $n)'; }

# --- Networks tab with an invite ------------------------------------------
log "rayfish --tab networks --invite $NET"
start_app invite --tab networks --invite "$NET"
wait_for 20 "the rayfish window" find_window
# Tall enough for the whole invite card, QR code included.
as_user timeout 5 xdotool windowsize "$WIN" 820 960 || die "cannot resize the window"
tray --quiet --timeout 20s --tooltip-has "1 of 1 peers online"
shoot "$OUT/networks-invite.png" --qr
app_user=$(ps -o user= -p "$APP_PID" | tr -d ' ')
[ "$app_user" = "$APP_USER" ] && pass "the app runs as $app_user" || fail "the app runs as $app_user, not $APP_USER"
stop_pid "$APP_PID"
wait_for 10 "the first window to close" no_window

# --- Peers tab, then the tray following the daemon -------------------------
log "rayfish (Peers tab)"
start_app peers --tab peers
wait_for 20 "the rayfish window" find_window
log "tray item while connected"
tray --timeout 20s --title rayfish --status Active --icon connected \
  --tooltip-has "rayfish — Connected" --tooltip-has "This device: laptop (100." --tooltip-has "1 of 1 peers online" \
  --menu-has "[Connected]" --menu-has "[Connect]" --menu-has "Disconnect" \
  --menu-has "Peers (1 of 1 online)" --menu-has "● nas (100.*) — direct" --menu-has "home (admin, 2 members)"
shoot "$OUT/main-peers.png" --green 120 # both dots: "Connected" and nas online

log "$APP_USER clicks Disconnect in the tray menu"
click Disconnect
wait_for 10 "the daemon to be down after the tray's Disconnect" daemon_state a down
pass "tray Disconnect (as $APP_USER): laptop's daemon is down"
tray --timeout 15s --title rayfish --status Active --icon disconnected \
  --tooltip-has "rayfish — Disconnected" \
  --menu-has "[Disconnected]" --menu-has "Connect" --menu-has "[Disconnect]"
# Standby keeps the control plane, so nas stays online: only the header dot
# turns grey (it alone is ~80 green pixels, the peer's dot ~50).
shoot "$OUT/main-disconnected.png" --green 30 --max-green 100

log "$APP_USER clicks Connect in the tray menu"
click Connect
wait_for 10 "the daemon to be up after the tray's Connect" daemon_state a up
pass "tray Connect (as $APP_USER): laptop's daemon is up"
tray --timeout 30s --title rayfish --status Active --icon connected \
  --tooltip-has "rayfish — Connected" --tooltip-has "1 of 1 peers online" \
  --menu-has "Disconnect"

# --- Join with a code made on the other namespace ---------------------------
log "nas: ray create lab; ray invite lab; $APP_USER: tray \"Join a network…\", types the code"
ray b create lab >/dev/null
labcode=$(ray b invite lab | tail -n 1)
click "Join a network…"
wait_for 10 "the rayfish window" find_window
as_user timeout 5 xdotool windowfocus "$WIN" || die "cannot focus the window"
sleep 0.5 # the Join tab focuses its code entry
as_user timeout 20 xdotool type --delay 5 "$labcode" || die "cannot type the invite code"
as_user timeout 5 xdotool key Return || die "cannot press Return"
wait_for 30 "laptop in the network lab after $APP_USER's join" in_network a lab
pass "join from the window (as $APP_USER): laptop is in nas's network lab"
tray --timeout 20s --menu-has "lab (*)"
shoot "$OUT/join-joined.png"


stop_pid "$APP_PID"
wait_for 10 "the window to close" no_window

# --- peer details: a click on nas's row -------------------------------------
# Traffic of varying size for 20 s, so that the sparklines (a sample every
# 5 s) have a few points that differ.
log "traffic to nas for the sparklines"
for size in 56 1200 400 1000; do
  ip netns exec $P-a ping -q -c 25 -i 0.2 -W 2 -s $size "$nas4" >>"$DIR/ping.log" 2>&1 || true
done
nas_history() { ray a status --json | jq -e '.peers[]? | select(.hostname == "nas") | (.history.rtt_ms | length) >= 3'; }
wait_for 20 "three history samples of nas on laptop" nas_history
log "peer details: click on nas"
start_app details --tab peers
wait_for 20 "the rayfish window" find_window
as_user timeout 5 xdotool windowsize "$WIN" 820 1000 || die "cannot resize the window"
sleep 0.5
as_user timeout 5 xdotool mousemove --window "$WIN" 300 200 click 1 || die "cannot click the peer row"
sleep 1
shoot "$OUT/peer-details.png"
stop_pid "$APP_PID"
wait_for 10 "the peers window to close" no_window

# --- firewall and diagnostics tabs ----------------------------------------
log "laptop: ray firewall add in allow -p tcp -P 8080; nas (admin of lab) suggests in allow tcp 443"
ray a firewall add in allow -p tcp -P 8080 >/dev/null
ray b firewall suggest lab in allow -p tcp -P 443 >/dev/null
suggestion_pending() { ray a firewall show --json | jq -e '.suggested[]? | select(.network == "lab" and .state == "pending")'; }
wait_for 20 "nas's suggestion pending on laptop" suggestion_pending
log "rayfish --tab firewall"
start_app firewall --tab firewall
wait_for 20 "the rayfish window" find_window
as_user timeout 5 xdotool windowsize "$WIN" 820 1000 || die "cannot resize the window"
sleep 1.5
shoot "$OUT/firewall.png"
stop_pid "$APP_PID"
wait_for 10 "the firewall window to close" no_window

# --- a third node reached only through a relay ------------------------------
# tv in $P-c, linked to laptop's namespace only; a relay listens on laptop's
# side of that link. tv joins while UDP passes, then nftables in $P-a drops
# all UDP on the link: the path between laptop and tv falls back to the relay
# (TCP), nas stays direct.
log "namespace $P-c (tv, 198.18.21.2), relay on 198.18.21.1:8443"
ip netns add $P-c
ip link add $P-vx netns $P-a type veth peer name $P-vc netns $P-c
ip -n $P-a addr add 198.18.21.1/24 dev $P-vx
ip -n $P-c addr add 198.18.21.2/24 dev $P-vc
ip -n $P-a link set $P-vx up
ip -n $P-c link set lo up
ip -n $P-c link set $P-vc up
RELAY=http://198.18.21.1:8443
ip netns exec $P-a "$RAY" relay --listen 198.18.21.1:8443 --stun-port 0 >"$DIR/relay.log" 2>&1 &
PIDS+=($!)
ray a config set relay "$RELAY" >/dev/null
ip netns exec $P-c "$RAY" daemon --state-dir "$DIR/state-tv" --socket "$DIR/tv.sock" --hostname tv --no-dns \
  --relay "$RELAY" >"$DIR/daemon-tv.log" 2>&1 &
PIDS+=($!)
wait_for 15 "daemon tv" ray tv status
ray tv join "$(ray a invite $NET | tail -n 1)" >/dev/null
peer_online() { ray "$1" status --json | jq -e --arg h "$2" '.peers[]? | select(.hostname == $h and .online)'; }
wait_for 30 "tv online on laptop" peer_online a tv
ip netns exec $P-a nft -f - <<NFT
table inet $P-cut {
  chain in { type filter hook input priority filter; policy accept; iifname "$P-vx" meta l4proto udp drop; }
  chain out { type filter hook output priority filter; policy accept; oifname "$P-vx" meta l4proto udp drop; }
}
NFT
peer_relayed() { ray "$1" status --json | jq -e --arg h "$2" '.peers[]? | select(.hostname == $h and .online and .path == "relay")'; }
wait_for 60 "tv online through the relay on laptop" peer_relayed a tv
wait_for 10 "nas still direct on laptop" peer_direct a nas
pass "daemons: laptop reaches nas directly and tv only through the relay"
timeout 15 "$RAY" --socket "$DIR/a.sock" ping tv -c 3 -i 100ms >>"$DIR/ping.log" 2>&1 ||
  die "ray ping tv (relayed) failed: $(tail -n 1 "$DIR/ping.log")"

log "rayfish --tab map"
start_app map --tab map
wait_for 20 "the rayfish window" find_window
as_user timeout 5 xdotool windowsize "$WIN" 820 640 || die "cannot resize the window"
sleep 1.5
shoot "$OUT/map.png" --green 60 --orange 60 # nas's dot and direct line; the relay box and dashes
cpu_idle "window open on the map"
stop_pid "$APP_PID"
wait_for 10 "the map window to close" no_window

log "rayfish --tab diagnostics"
start_app diagnostics --tab diagnostics
wait_for 20 "the rayfish window" find_window
as_user timeout 5 xdotool windowsize "$WIN" 820 1000 || die "cannot resize the window"
sleep 3 # the network check runs when the tab opens
shoot "$OUT/diagnostics.png"
stop_pid "$APP_PID"
wait_for 10 "the diagnostics window to close" no_window

log "rayfish --hidden (window closed)"
start_app hidden --hidden
tray --quiet --timeout 20s --tooltip-has "2 of 2 peers online" --tooltip-has "1 peer only through a relay"
cpu_idle "window hidden"
stop_pid "$APP_PID"

# --- first start: a fresh daemon in no network -----------------------------
log "a fresh daemon (in $P-a, TUN rfss-fresh) and rayfish on it"
ip netns exec $P-a "$RAY" daemon --state-dir "$DIR/state-c" --socket "$DIR/c.sock" --hostname fresh --no-dns --no-dht \
  --tun rfss-fresh --listen-port 41999 >"$DIR/daemon-fresh.log" 2>&1 &
PIDS+=($!)
wait_for 15 "daemon fresh" ray c status
APP_SOCK="$DIR/c.sock" start_app fresh --tab peers
wait_for 20 "the rayfish window" find_window
as_user timeout 5 xdotool windowsize "$WIN" 820 640 || die "cannot resize the window"
sleep 1.5
shoot "$OUT/first-start.png"

stop_pid "$APP_PID"

# --- CPU with 50 busy peers ---------------------------------------------------
log "sscheck fakedaemon: 50 peers whose counters change every second"
"$SSCHECK" fakedaemon --socket "$DIR/fake.sock" --peers 50 >"$DIR/fakedaemon.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the stand-in daemon" ray fake status
for tab in peers map; do
  APP_SOCK="$DIR/fake.sock" start_app "cpu-$tab" --tab $tab
  wait_for 20 "the rayfish window" find_window
  as_user timeout 5 xdotool windowsize "$WIN" 820 760 || die "cannot resize the window"
  sleep 2
  cpu_idle "50 peers, window open on $tab"
  stop_pid "$APP_PID"
  wait_for 10 "the window to close" no_window
done
APP_SOCK="$DIR/fake.sock" start_app cpu-hidden --hidden
tray --quiet --timeout 20s --tooltip-has "40 of 50 peers online"
cpu_idle "50 peers, window hidden"
stop_pid "$APP_PID"

# --- the audit log names the user --------------------------------------------
stop_pid "${DAEMON_PID[a]}" # flushes its audit log
changes=$(jq -r 'select(.event == "local_change") | .user + " " + .detail' "$DIR/state-a/logs/audit.log" | sort -u)
for want in "invite (group)" "down (group)" "up (group)" "join (group)"; do
  grep -qx "$APP_USER $want" <<<"$changes" && pass "audit log: $APP_USER $want" ||
    fail "audit log lacks \"$APP_USER $want\": $(tr '\n' ';' <<<"$changes")"
done

for f in networks-invite main-peers main-disconnected join-joined peer-details map firewall diagnostics first-start; do
  [ -s "$OUT/$f.png" ] && log "wrote $OUT/$f.png"
done
[ "$FAILED" -eq 0 ]
