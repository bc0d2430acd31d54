#!/usr/bin/env bash
# Starts the local stack in DIR: moto (AWS) behind the fault-injecting AWS proxy, a TLS PostgreSQL
# and the PagerDuty receiver, each on a free loopback port, so two stacks on one machine never collide. Writes DIR/env with the variables
# that point clients at it, and prints them.
#
# Usage: stack-up.sh DIR
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=${1:?usage: stack-up.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if alive "$dir/moto.pid" || alive "$dir/receiver.pid" || alive "$dir/proxy.pid" || [ -f "$dir/pg.path" ]; then
    die "a stack is already running in $dir: stop it first (infra/local/stack-down.sh $dir)"
fi
# The stack's files are read by the postgres user too.
chmod 755 "$dir"

receiver="$CARGO_TARGET_DIR/debug/pagerduty-receiver"
proxy="$CARGO_TARGET_DIR/debug/aws-proxy"
for bin in "$receiver" "$proxy"; do
    [ -x "$bin" ] || die "$bin is not built: run 'cargo build --workspace --bins' (make stack-up and make test do)"
done
[ -x "$VENV/bin/moto_server" ] || die "moto is not installed in $VENV: run 'make setup'"
pgbin=$(pg_bin) || die "PostgreSQL is not installed: run 'make setup'"

# If anything below fails, leave nothing running behind.
trap 'status=$?; if [ $status -ne 0 ]; then say "stack-up failed; stopping what started"; "$ROOT/infra/local/stack-down.sh" "$dir" >/dev/null 2>&1 || true; fi' EXIT

# --- moto -------------------------------------------------------------------------------------
moto_port=$(free_port)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$dir/moto.log" 2>&1 &
echo $! >"$dir/moto.pid"

# --- PostgreSQL with TLS ------------------------------------------------------------------------
pg_port=$(free_port)
pgdata=$(mktemp -d /tmp/ops-lambdas-pg.XXXXXX)
echo "$pgdata" >"$dir/pg.path"
chmod 700 "$pgdata"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$pgdata"

# A CA made for this stack alone, and a server certificate for "localhost" only: connecting to
# 127.0.0.1 with verify-full must fail, which is how tests prove the name is really checked.
(
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=ops-lambdas local CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3 \
        -extfile server.ext -out server.pem 2>/dev/null
    rm -f server.csr server.ext ca.srl
)
chmod 644 "$dir/ca.pem"
pg_password=$(openssl rand -hex 16)
install -m 600 /dev/null "$pgdata/.pwfile"
printf '%s\n' "$pg_password" >"$pgdata/.pwfile"
install -m 600 "$dir/server.pem" "$pgdata/server.crt"
install -m 600 "$dir/server.key" "$pgdata/server.key"
rm -f "$dir/server.key" "$dir/ca.key"
mkdir -p "$pgdata/data"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$pgdata"
as_pg "$pgbin/initdb" -D "$pgdata/data" -U postgres --pwfile="$pgdata/.pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
rm -f "$pgdata/.pwfile"
cat >>"$pgdata/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pgdata'
ssl = on
ssl_cert_file = '$pgdata/server.crt'
ssl_key_file = '$pgdata/server.key'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
cat >"$pgdata/data/pg_hba.conf" <<HBA
local   all all                scram-sha-256
hostssl all all 127.0.0.1/32   scram-sha-256
host    all all 127.0.0.1/32   scram-sha-256
HBA
as_pg "$pgbin/pg_ctl" -D "$pgdata/data" -l "$pgdata/server.log" -w -t 30 start >/dev/null \
    || { cat "$pgdata/server.log" >&2; die "PostgreSQL did not start"; }

# --- PagerDuty receiver --------------------------------------------------------------------------
rm -f "$dir/receiver.port"
"$receiver" --listen 127.0.0.1:0 --port-file "$dir/receiver.port" >"$dir/receiver.log" 2>&1 &
echo $! >"$dir/receiver.pid"

# --- AWS proxy: every AWS request goes through it, so tests can make AWS throttle, fail or lag ----
rm -f "$dir/proxy.port"
"$proxy" --upstream "http://127.0.0.1:$moto_port" --listen 127.0.0.1:0 --port-file "$dir/proxy.port" \
    >"$dir/proxy.log" 2>&1 &
echo $! >"$dir/proxy.pid"

wait_port_file() {
    local file=$1 what=$2 log=$3
    for _ in $(seq 100); do [ -s "$file" ] && return 0; sleep 0.05; done
    die "$what did not start (see $log)"
}
wait_port_file "$dir/receiver.port" "the PagerDuty receiver" "$dir/receiver.log"
wait_port_file "$dir/proxy.port" "the AWS proxy" "$dir/proxy.log"
pd_port=$(cat "$dir/receiver.port")
proxy_port=$(cat "$dir/proxy.port")
wait_http "http://127.0.0.1:$moto_port/moto-api/" 60 || { cat "$dir/moto.log" >&2; die "moto did not answer on port $moto_port"; }
wait_http "http://127.0.0.1:$proxy_port/_proxy/health" 10 || { cat "$dir/proxy.log" >&2; die "the AWS proxy did not answer on port $proxy_port"; }

cat >"$dir/env" <<ENV
export OPS_STACK_DIR='$dir'
export AWS_ENDPOINT_URL='http://127.0.0.1:$proxy_port'
export MOTO_URL='http://127.0.0.1:$moto_port'
export AWS_FAULTS_URL='http://127.0.0.1:$proxy_port/_proxy'
export AWS_ACCESS_KEY_ID='testing'
export AWS_SECRET_ACCESS_KEY='testing'
export AWS_REGION='us-east-1'
export AWS_DEFAULT_REGION='us-east-1'
export AWS_EC2_METADATA_DISABLED='true'
export PGHOST='localhost'
export PGPORT='$pg_port'
export PGUSER='postgres'
export PGPASSWORD='$pg_password'
export PGDATABASE='postgres'
export PGSSLMODE='verify-full'
export PGSSLROOTCERT='$dir/ca.pem'
export PG_CA_BUNDLE='$dir/ca.pem'
export PAGERDUTY_RECEIVER_URL='http://127.0.0.1:$pd_port'
export PAGERDUTY_EVENTS_URL='http://127.0.0.1:$pd_port/v2/enqueue'
ENV
trap - EXIT
say "local stack up in $dir (AWS proxy :$proxy_port in front of moto :$moto_port, PostgreSQL :$pg_port with TLS, PagerDuty receiver :$pd_port)"
say "to use it in a shell: source $dir/env"
cat "$dir/env"
