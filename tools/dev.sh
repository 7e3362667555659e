#!/usr/bin/env bash
# `make dev`: Azurite plus both roles on 127.0.0.1, logs interleaved on this
# terminal. Ctrl-C (or either role dying) stops all three, in order, and
# leaves nothing running.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port_base=${ELMCITY_DEV_AZURITE_PORT:-10000}

if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p bin
go build -o bin/webrole ./webrole
go build -o bin/workerrole ./workerrole
go build -o bin/elmcity-demo ./webrole/cmd/elmcity-demo

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  tools/azurite.sh stop dev || true
}
trap cleanup INT TERM EXIT

tools/azurite.sh start dev "$port_base"
AZURE_STORAGE_CONNECTION_STRING=$(tools/azurite.sh conn dev)
export AZURE_STORAGE_CONNECTION_STRING
export ELMCITY_HTTP_ADDR=${ELMCITY_HTTP_ADDR:-127.0.0.1:8080}
export ELMCITY_PUBLIC_URL=${ELMCITY_PUBLIC_URL:-http://$ELMCITY_HTTP_ADDR}
export ELMCITY_WORKER_METRICS_ADDR=${ELMCITY_WORKER_METRICS_ADDR:-127.0.0.1:9090}
export ELMCITY_FETCH_ALLOW_PRIVATE=${ELMCITY_FETCH_ALLOW_PRIVATE:-true}
export ELMCITY_SCRIPTS=${ELMCITY_SCRIPTS:-$root/scripts}
# A fresh admin token per run unless one is given.
export ELMCITY_ADMIN_TOKEN=${ELMCITY_ADMIN_TOKEN:-dev-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')}

bin/webrole &
pids+=($!)
bin/workerrole &
pids+=($!)
ELMCITY_DEMO_API="http://$ELMCITY_HTTP_ADDR" bin/elmcity-demo &
pids+=($!)

cat >&2 <<MSG

elmcity is starting:
  web role      http://$ELMCITY_HTTP_ADDR/healthz
  worker probes http://$ELMCITY_WORKER_METRICS_ADDR/readyz
  Azurite       127.0.0.1:$port_base-$((port_base + 2))
  admin token   $ELMCITY_ADMIN_TOKEN
The demo hub loads in a few seconds; its URLs follow. Ctrl-C stops everything.

MSG
# Return when either role exits (or on Ctrl-C); cleanup stops the rest.
wait -n "${pids[@]}"
