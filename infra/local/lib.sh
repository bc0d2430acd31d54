# Shared helpers for the local-stack scripts. Sourced, not run.

# The project's root, whatever directory the script was called from.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${VENV:-$ROOT/.venv}
SAM_VENV=${SAM_VENV:-$ROOT/.venv-sam}
# Same default as the Makefile.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ops-lambdas/target}

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# The PostgreSQL server binaries of the newest installed major version.
pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] || return 1
    printf '%s\n' "$dir"
}

# Runs a command as the `postgres` user when we are root (PostgreSQL refuses to run as root).
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Waits until URL answers HTTP (any status), or fails after SECONDS.
wait_http() {
    local url=$1 seconds=$2
    python3 - "$url" "$seconds" <<'PY'
import sys, time, urllib.request, urllib.error
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        urllib.request.urlopen(url, timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(1)
PY
}

# True while process PID runs. A zombie (exited, not yet reaped by a parent that may never reap
# it, such as a sandbox's init) has stopped: it holds no port and no file.
running() {
    kill -0 "$1" 2>/dev/null || return 1
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != "Z" ]
}

# True while the process in PIDFILE runs.
alive() {
    [ -f "$1" ] && running "$(cat "$1")"
}
