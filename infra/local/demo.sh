#!/usr/bin/env bash
# `make demo`: the whole system on a fresh local stack of its own (stopped afterwards, whatever
# happens), driven and checked by demo.py. Exits non-zero if any step did not do what it says.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
export PATH="$VENV/bin:$PATH"
exec "$ROOT/infra/local/with-stack.sh" "$VENV/bin/python" "$ROOT/infra/local/demo.py"
