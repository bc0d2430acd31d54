#!/usr/bin/env bash
# Installs everything the local stack needs, on a fresh Debian machine or an up-to-date one.
# Idempotent: a second run checks and does nothing.
#
# `setup.sh --deploy` installs only what building and deploying need (cargo-lambda, zig, cfn-lint,
# the SAM CLI): no PostgreSQL, and no root unless a C compiler or python3-venv is missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
deploy_only=false
[ "${1:-}" = "--deploy" ] && deploy_only=true

need_apt=()
# A C compiler and linker for the Rust build (ring, zstd and the linker step itself need one).
command -v cc >/dev/null || need_apt+=(build-essential)
if ! $deploy_only; then
    pg_bin >/dev/null || need_apt+=(postgresql)
    command -v openssl >/dev/null || need_apt+=(openssl)
    command -v runuser >/dev/null || need_apt+=(util-linux)
fi
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
    say "installing Debian packages: ${need_apt[*]}"
    [ "$(id -u)" = 0 ] || die "installing ${need_apt[*]} needs root (sudo make setup)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    # Debian's package starts a system cluster; ours are throwaway clusters of our own.
    if command -v pg_lsclusters >/dev/null; then
        pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
            pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
        done
    fi
fi
$deploy_only || pg_bin >/dev/null || die "PostgreSQL server binaries not found under /usr/lib/postgresql after install"

# A virtualenv built from a requirements file, rebuilt only when that file changes.
venv_from() {
    local dir=$1 req=$2 what=$3 want
    want=$(sha256sum "$req" | cut -d' ' -f1)
    if [ ! -x "$dir/bin/python" ] || [ "$(cat "$dir/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
        say "installing $what into $dir"
        python3 -m venv "$dir"
        "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
        echo "$want" > "$dir/.requirements.sha256"
    fi
}
venv_from "$VENV" "$ROOT/infra/local/requirements.txt" "Python tools (moto, cargo-lambda, zig, cfn-lint)"
# SAM CLI pins its own boto3, which moto's would fight with: a virtualenv of its own.
venv_from "$SAM_VENV" "$ROOT/infra/sam-requirements.txt" "AWS SAM CLI"
$deploy_only || "$VENV/bin/moto_server" --help >/dev/null || die "moto_server is not runnable in $VENV"
PATH="$VENV/bin:$PATH" cargo lambda --version >/dev/null || die "cargo lambda is not runnable from $VENV"
"$VENV/bin/cfn-lint" --version >/dev/null || die "cfn-lint is not runnable in $VENV"
SAM_CLI_TELEMETRY=0 "$SAM_VENV/bin/sam" --version >/dev/null || die "sam is not runnable in $SAM_VENV"
if $deploy_only; then
    say "deploy setup complete: $(PATH="$VENV/bin:$PATH" cargo lambda --version), $(SAM_CLI_TELEMETRY=0 "$SAM_VENV/bin/sam" --version)"
else
    say "setup complete: $(PATH="$VENV/bin:$PATH" cargo lambda --version), $(SAM_CLI_TELEMETRY=0 "$SAM_VENV/bin/sam" --version), moto $("$VENV/bin/python" -c 'import moto; print(moto.__version__)'), PostgreSQL $("$(pg_bin)/postgres" --version | awk '{print $3}')"
fi
