#!/usr/bin/env bash
# appcpu.sh — the tray app's CPU while idle with N busy peers (issue 18's
# closing note), measured the same way for every view: the real rayfish
# binary under xvfb-run with a private session D-Bus and a stand-in tray
# watcher (sscheck watcher), against a stand-in daemon whose peers'
# counters change every second (sscheck fakedaemon). For each of the
# window open on Peers, Map and Diagnostics, the window hidden, and the
# window hidden with a daemon that sends nothing (hidden-quiet: the app's
# floor), it starts the app, lets it settle, and prints the process's CPU
# time (user + system, /proc/PID/stat) over SECS seconds in % of one core.
#
# Environment: RAYFISH, SSCHECK (binaries), SECS (default 60), PEERS
# (default 50), EVERY (how often the counters change, default 1s; 0 for
# a quiet daemon), VIEWS (default "peers map diagnostics hidden
# hidden-quiet"),
# PROFILE_DIR (when set, the app writes a CPU profile per view there via
# RAYFISH_CPUPROFILE). Needs no root and no network namespace: nothing
# here sends a packet.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RAYFISH=${RAYFISH:-$ROOT/build/bin/rayfish}
SSCHECK=${SSCHECK:-$ROOT/build/bin/sscheck}
SECS=${SECS:-60}
PEERS=${PEERS:-50}
EVERY=${EVERY:-1s}
VIEWS=${VIEWS:-peers map diagnostics hidden hidden-quiet}

if [ -z "${APPCPU_INNER:-}" ]; then
  for c in xvfb-run dbus-daemon; do command -v $c >/dev/null || {
    echo "appcpu: missing $c (make screenshots-deps)"
    exit 1
  }; done
  for b in "$RAYFISH" "$SSCHECK"; do [ -x "$b" ] || {
    echo "appcpu: missing binary $b"
    exit 1
  }; done
  exec env -u DBUS_SESSION_BUS_ADDRESS -u WAYLAND_DISPLAY APPCPU_INNER=1 \
    xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp" bash "$0" "$@"
fi

DIR=$(mktemp -d /tmp/rfappcpu.XXXXXX)
PIDS=()
# shellcheck source=lib.sh
. "$ROOT/test/screenshots/lib.sh"
cleanup() {
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local end=$((SECONDS + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$end" ] || {
      echo "appcpu: timed out waiting for $what"
      exit 1
    }
    sleep 0.1
  done
}

# A home of its own: the app's preferences (last tab, window size) and
# single-instance socket must not meet another run's.
export HOME=$DIR/home XDG_RUNTIME_DIR=$DIR/run XDG_CONFIG_HOME=$DIR/home/.config
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
# Not a first start, which shows the window even with --hidden.
mkdir -p "$XDG_CONFIG_HOME/fyne/dev.rayfish.app"
echo '{"first_run_done":true}' >"$XDG_CONFIG_HOME/fyne/dev.rayfish.app/preferences.json"
dbus-daemon --session --nofork --nopidfile --address="unix:path=$DIR/run/bus" >"$DIR/dbus.log" 2>&1 &
PIDS+=($!)
export DBUS_SESSION_BUS_ADDRESS=unix:path=$DIR/run/bus
wait_for 10 "the session bus" test -S "$DIR/run/bus"
"$SSCHECK" watcher --ready "$DIR/watcher.ready" >"$DIR/watcher.log" 2>&1 &
PIDS+=($!)
wait_for 10 "the StatusNotifierWatcher" test -s "$DIR/watcher.ready"
fake_every="" fake_pid=""
fakedaemon() { # fakedaemon EVERY: (re)start the stand-in daemon unless it runs with EVERY
  [ "$fake_every" = "$1" ] && return
  if [ -n "$fake_pid" ]; then stop_pid "$fake_pid"; fi
  rm -f "$DIR/fake.sock"
  "$SSCHECK" fakedaemon --socket "$DIR/fake.sock" --peers "$PEERS" --every "$1" >>"$DIR/fakedaemon.log" 2>&1 &
  fake_pid=$! fake_every=$1
  PIDS+=("$fake_pid")
  wait_for 10 "the stand-in daemon" test -S "$DIR/fake.sock"
}

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
online=$((PEERS - PEERS / 5))
for view in $VIEWS; do
  args=(--tab "$view")
  every=$EVERY
  case $view in
  hidden) args=(--hidden) ;;
  hidden-quiet) args=(--hidden) every=0 ;;
  esac
  fakedaemon "$every"
  prof=""
  [ -n "${PROFILE_DIR:-}" ] && prof=$PROFILE_DIR/$view.pprof
  RAYFISH_CPUPROFILE=$prof "$RAYFISH" --socket "$DIR/fake.sock" "${args[@]}" >"$DIR/rayfish-$view.log" 2>&1 &
  app=$!
  PIDS+=("$app")
  "$SSCHECK" tray --quiet --timeout 20s --tooltip-has "$online of $PEERS peers online" >/dev/null ||
    { echo "appcpu: the app never showed $online of $PEERS peers online"; cat "$DIR/rayfish-$view.log"; exit 1; }
  sleep 3 # the window draws; the diagnostics tab's network check fails on the stand-in
  if command -v xdotool >/dev/null; then
    shown=$(xdotool search --onlyvisible --name '^rayfish$' 2>/dev/null | head -n 1 || true)
    case $view in hidden*) want_shown="" ;; *) want_shown=yes ;; esac
    if [ -z "$want_shown" ] && [ -n "$shown" ]; then echo "appcpu: the window shows with --hidden"; exit 1; fi
    if [ -n "$want_shown" ] && [ -z "$shown" ]; then echo "appcpu: no window on $view"; exit 1; fi
  fi
  t0=$(ticks $app)
  sleep "$SECS"
  t1=$(ticks $app)
  kill -0 "$app" || { echo "appcpu: the app exited"; cat "$DIR/rayfish-$view.log"; exit 1; }
  stop_pid "$app"
  awk -v v="$view" -v d=$((t1 - t0)) -v hz="$hz" -v s="$SECS" -v n="$PEERS" -v e="$every" \
    'BEGIN { printf "app CPU, %d peers (counters every %s), %-14s %5.2f%% of a core over %d s\n", n, e, v":", 100 * d / hz / s, s }'
done
