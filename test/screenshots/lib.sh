# lib.sh: shell helpers the screenshot and app-CPU scripts share (sourced).

stop_pid() { # stop_pid PID: TERM, then KILL after 3 s
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for i in $(seq 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
