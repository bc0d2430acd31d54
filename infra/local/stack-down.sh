#!/usr/bin/env bash
# Stops the local stack in DIR and removes its PostgreSQL cluster. Fails if anything it started is
# still running afterwards, so a test run can prove it left nothing behind.
#
# Usage: stack-down.sh DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh"

dir=${1:?usage: stack-down.sh DIR}
[ -d "$dir" ] || { say "no stack in $dir"; exit 0; }

stop_pid() {
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if running "$pid"; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# Everything the stack started, to prove afterwards that none of it is left.
pids=$(cat "$dir/moto.pid" "$dir/receiver.pid" "$dir/proxy.pid" 2>/dev/null)
pgdata=$(cat "$dir/pg.path" 2>/dev/null || true)
if [ -n "$pgdata" ] && [ -f "$pgdata/data/postmaster.pid" ]; then
    pids="$pids $(head -n 1 "$pgdata/data/postmaster.pid")"
fi

stop_pid "$dir/moto.pid"
stop_pid "$dir/receiver.pid"
stop_pid "$dir/proxy.pid"
rm -f "$dir/receiver.port" "$dir/proxy.port"

if [ -n "$pgdata" ]; then
    if [ -f "$pgdata/data/postmaster.pid" ] && pgbin=$(pg_bin); then
        as_pg "$pgbin/pg_ctl" -D "$pgdata/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
            || as_pg "$pgbin/pg_ctl" -D "$pgdata/data" -m immediate -w stop >/dev/null 2>&1
    fi
    case "$pgdata" in /tmp/ops-lambdas-pg.*) rm -rf "$pgdata" ;; esac
    rm -f "$dir/pg.path"
fi
rm -f "$dir/env"

left=""
for pid in $pids; do running "$pid" && left="$left $pid"; done
[ -z "$left" ] || die "processes of the stack in $dir are still running:$left"
say "local stack in $dir stopped"
