#!/bin/bash
# after.sh PID LOGFILE -- run_f17jv.sh args...: wait for PID to exit, then run the screen lane (round 9, f17jv)
pid=$1; out=$2; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 2; done
exec "$(dirname "$0")/run_f17jv.sh" "$@" > "$out" 2>&1
