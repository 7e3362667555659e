#!/usr/bin/env bash
# Starts and stops a private Azurite (the Azure Storage emulator) on
# 127.0.0.1, with its data in a temporary folder.
#
#   tools/azurite.sh start NAME [PORT_BASE]   blob=PORT_BASE, queue=+1, table=+2
#   tools/azurite.sh stop NAME
#   tools/azurite.sh conn NAME                prints the connection string
#
# NAME keeps instances apart (dev and test can run side by side); state
# lives in .azurite/NAME (pid, ports, log). Azurite comes from the pinned
# package.json and is installed with `npm ci` when missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:?usage: azurite.sh start|stop|conn NAME [PORT_BASE]}
name=${2:?instance name required}
state="$root/.azurite/$name"
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

conn() {
  local base
  base=$(cat "$state/port")
  echo "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$base/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$((base + 1))/devstoreaccount1;TableEndpoint=http://127.0.0.1:$((base + 2))/devstoreaccount1;"
}

running() { [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; }

start() {
  local base=${1:-10000}
  if running; then
    echo "azurite ($name) already running on 127.0.0.1:$(cat "$state/port")" >&2
    return 0
  fi
  if [ ! -x "$root/node_modules/.bin/azurite" ]; then
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
  for p in "$base" $((base + 1)) $((base + 2)); do
    if port_open "$p"; then
      echo "port 127.0.0.1:$p is already in use; pick another PORT_BASE" >&2
      return 1
    fi
  done
  mkdir -p "$state"
  local data
  data=$(mktemp -d "${TMPDIR:-/tmp}/elmcity-azurite-$name.XXXXXX")
  echo "$data" >"$state/data"
  echo "$base" >"$state/port"
  # setsid: Ctrl-C in a terminal reaches the parent script, which stops
  # Azurite itself, in order.
  setsid "$root/node_modules/.bin/azurite" --silent --skipApiVersionCheck \
    --location "$data" \
    --blobHost 127.0.0.1 --blobPort "$base" \
    --queueHost 127.0.0.1 --queuePort $((base + 1)) \
    --tableHost 127.0.0.1 --tablePort $((base + 2)) \
    >"$state/log" 2>&1 </dev/null &
  echo $! >"$state/pid"
  for _ in $(seq 1 150); do
    if port_open $((base + 1)) && port_open $((base + 2)); then
      echo "azurite ($name) listening on 127.0.0.1:$base-$((base + 2)), data in $data" >&2
      return 0
    fi
    if ! running; then break; fi
    sleep 0.2
  done
  echo "azurite ($name) did not start; its log:" >&2
  cat "$state/log" >&2
  stop
  return 1
}

stop() {
  if running; then
    local pid
    pid=$(cat "$state/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "azurite ($name) stopped" >&2
  fi
  if [ -f "$state/data" ]; then rm -rf "$(cat "$state/data")"; fi
  rm -f "$state/pid" "$state/data"
}

case "$cmd" in
  start) start "${3:-}" ;;
  stop) stop ;;
  conn) conn ;;
  *) echo "unknown command $cmd" >&2; exit 2 ;;
esac
