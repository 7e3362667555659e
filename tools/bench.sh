#!/usr/bin/env bash
# `make bench`: the benchmarks that compare elmcity's code paths with their
# baselines (the raw Azure SDK, bare goja, raw go-ical), run side by side
# against a private Azurite, summarised by benchstat with the baseline as a
# column so each figure reads as a ratio.
#
# Benchmarks that have a baseline name their variants with an `impl=` key,
# e.g. BenchmarkWrite/impl=elmcity and BenchmarkWrite/impl=sdk.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
benchstat_version=v0.0.0-20260908200009-22c9c6c9d4da
count=${BENCH_COUNT:-5}
out=$(mktemp -d "${TMPDIR:-/tmp}/elmcity-bench.XXXXXX")

if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
instance=bench-$$
cleanup() { tools/azurite.sh stop "$instance" || true; rm -rf ".azurite/$instance"; }
trap cleanup EXIT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_base=${ELMCITY_BENCH_AZURITE_PORT:-10200}
while port_open "$port_base" || port_open $((port_base + 1)) || port_open $((port_base + 2)); do
  port_base=$((port_base + 10))
done
tools/azurite.sh start "$instance" "$port_base"
export ELMCITY_TEST_STORAGE
ELMCITY_TEST_STORAGE=$(tools/azurite.sh conn "$instance")

# name|package|benchmark regexp|benchtime|benchstat column spec (baseline
# first). Queue benchmarks use a fixed count: Azurite stalls after
# thousands of queue deletes.
suites=(
  "tablelog|./shared/tablelog|Write|1s|/impl@(sdk-batch100 log-write100 log-add100 sdk-single)"
  "queue|./shared/queue|RoundTrip|200x|/impl@(sdk elmcity)"
  "fetch|./shared/fetch|Fetch|1s|/impl@(nethttp fetch)"
  "publish|./shared/publish|Publish|3x|-"
  "script|./shared/script|Run|1s|-"
  "loginfo|./shared/script|LogInfo|1s|-"
  "services|./webrole/internal/api|LogInfo|300x|/impl@(plain script gin-hello)"
  "jobs|./workerrole|Jobs|40x|-"
  "synthetic|./workerrole/internal/aggregate|SyntheticHub|1x|/impl@(goical-decode elmcity-aggregate)"
)
for s in "${suites[@]}"; do
  IFS='|' read -r name pkg re bt col <<<"$s"
  echo "== $name: go test -bench $re -benchtime $bt -count $count $pkg" >&2
  go test -run '^$' -bench "$re" -benchtime "$bt" -count "$count" -benchmem "$pkg" >"$out/$name.txt"
done

for s in "${suites[@]}"; do
  IFS='|' read -r name pkg re bt col <<<"$s"
  echo
  echo "== $name (baseline: first column; vs base = ratio to it)"
  if [ "$col" = "-" ]; then
    go run "golang.org/x/perf/cmd/benchstat@$benchstat_version" "$out/$name.txt"
  else
    go run "golang.org/x/perf/cmd/benchstat@$benchstat_version" -col "$col" "$out/$name.txt"
  fi
done
echo
echo "raw results in $out"
