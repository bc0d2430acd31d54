#!/usr/bin/env bash
# Runs a command with a fresh local stack of its own, and always stops the stack afterwards.
# The command sees the stack's variables (AWS_ENDPOINT_URL, PG*, PAGERDUTY_*) in its environment.
#
# Usage: with-stack.sh COMMAND [ARGS...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=$(mktemp -d /tmp/ops-lambdas-stack.XXXXXX)
cleanup() {
    local rc=$?
    "$ROOT/infra/local/stack-down.sh" "$dir" || rc=1
    rm -rf "$dir"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$ROOT/infra/local/stack-up.sh" "$dir" >/dev/null
# shellcheck disable=SC1091
. "$dir/env"
"$@"
