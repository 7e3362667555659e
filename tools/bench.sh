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

# package|benchmark regexp|benchtime. Queue benchmarks use a fixed count:
# Azurite stalls after thousands of queue deletes.
suites=(
  "./shared/tablelog|.|1s"
  "./shared/queue|.|200x"
)
for s in "${suites[@]}"; do
  IFS='|' read -r pkg re bt <<<"$s"
  if [ -z "$(go list -f '{{len .TestGoFiles}}{{len .XTestGoFiles}}' "$pkg" 2>/dev/null | grep -v '^00$')" ]; then continue; fi
  echo "== $pkg" >&2
  go test -run '^$' -bench "$re" -benchtime "$bt" -count "$count" -benchmem "$pkg" | tee -a "$out/all.txt" >&2
done

echo
echo "== summary (columns: impl=; the baseline is the first column)"
go run "golang.org/x/perf/cmd/benchstat@$benchstat_version" -col /impl "$out/all.txt" || true
echo
echo "raw results: $out/all.txt"
