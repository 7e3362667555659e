#!/usr/bin/env bash
# `make bench`: the benchmarks that compare elmcity's code paths with their
# baselines (the raw Azure SDK, net/http, bare goja, raw go-ical, a bare Gin
# endpoint), run against a private Azurite, and one summary table of the
# headline figures with each baseline as a ratio (tools/benchsummary reads
# benchstat's medians). It takes about 6 minutes on 2 cores.
#
# Benchmarks that have a baseline name their variants with an `impl=` key,
# e.g. BenchmarkWrite/size=small/impl=log-write100 and .../impl=sdk-batch100.
#
#   BENCH_COUNT=1 tools/bench.sh                # one sample each, quick look
#   BENCH_SUITES="tablelog queue" tools/bench.sh # only these suites
#
# Everything stays in the folder printed at the end: SUITE.txt (go test
# output), SUITE.benchstat.txt (benchstat's table, the baseline as its first
# column), SUITE.csv (what the summary reads) and SUITE.status.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
benchstat_version=v0.0.0-20260908200009-22c9c6c9d4da
benchstat=(go run "golang.org/x/perf/cmd/benchstat@$benchstat_version")
count=${BENCH_COUNT:-5}
only=${BENCH_SUITES:-}
out=$(mktemp -d "${TMPDIR:-/tmp}/elmcity-bench.XXXXXX")
started=$SECONDS

# name|package|benchmark regexp|benchtime|count (empty: BENCH_COUNT)|benchstat
# column spec for SUITE.benchstat.txt (baseline first; - for none). Queue
# and job benchmarks use a fixed number of ops: Azurite stalls after
# thousands of queue deletes. A count caps BENCH_COUNT where a run is long
# (the synthetic hub is generated anew for each count; the outputs suite
# has 8 loads),
# to keep the whole under 10 minutes.
suites=(
  "tablelog|./shared/tablelog|^BenchmarkWrite$|500ms||/impl@(sdk-batch100 log-write100 log-add100 sdk-single)"
  "queue|./shared/queue|^BenchmarkRoundTrip$|200x||/impl@(sdk elmcity)"
  "fetch|./shared/fetch|^BenchmarkFetch$|1s||/impl@(nethttp fetch)"
  "publish|./shared/publish|^BenchmarkPublish$|3x||-"
  "calendar|./shared/calendar|^BenchmarkFeed$|500ms||-"
  "script|./shared/script|^BenchmarkRun$|500ms||-"
  "loginfo|./shared/script|^BenchmarkLogInfo$|1s||-"
  "services|./webrole/internal/api|^BenchmarkLogInfo$|300x||/impl@(plain script gin-hello)"
  "outputs|./webrole/internal/api|^BenchmarkOutputs$|500ms|3|/impl@(fixed cached notmodified cold)"
  "jobs|./workerrole|^BenchmarkJobs$|40x||-"
  "synthetic|./workerrole/internal/aggregate|^BenchmarkSyntheticHub$|1x|5|/impl@(goical-extract-cachedzones goical-decode elmcity-aggregate)"
)

# The summary, one row each: suite|ours|benchmark|baseline|baseline
# benchmark|units (first one both report wins). Names are benchstat's,
# without the GOMAXPROCS suffix.
rows=(
  "tablelog|Log.Write, batches of 100|Write/size=small/impl=log-write100|SDK 100-entity transaction|Write/size=small/impl=sdk-batch100|entities/s"
  "queue|Enqueue+Receive+Complete|RoundTrip/size=small/impl=elmcity|SDK enqueue+dequeue+delete|RoundTrip/size=small/impl=sdk|roundtrips/s"
  "fetch|Fetcher.Fetch, 4 MB gzip|Fetch/body=4MB/enc=gzip/impl=fetch|net/http GET|Fetch/body=4MB/enc=gzip/impl=nethttp|B/s"
  "publish|publish 10k occurrences|Publish/occ=10000/impl=chunks/level=default|a row per occurrence|Publish/occ=10000/impl=row-per-occurrence|occ/s"
  "calendar|calendar.Parse, 10k events|Feed/events=10000/parse|go-ical decode|Feed/events=10000/goical|events/s"
  "script|Engine.Run, compiled once|Run/Run/CompiledOnce|bare goja runtime|Run/goja/FreshRuntimeRunProgram|sec/op"
  "loginfo|log_info.js, 1000 entries|LogInfo/entries=1000|||sec/op"
  "services|GET /services/{hub}/log_info|LogInfo/impl=script|plain Go handler|LogInfo/impl=plain|req/s"
  "services|GET /services/{hub}/log_info|LogInfo/impl=script|bare Gin hello|LogInfo/impl=gin-hello|req/s"
  "outputs|JSON, cached|Outputs/format=json/impl=cached|bare Gin, fixed bytes|Outputs/format=json/impl=fixed|req/s,sec/op"
  "outputs|JSON, 304 Not Modified|Outputs/format=json/impl=notmodified|bare Gin, fixed bytes|Outputs/format=json/impl=fixed|req/s,sec/op"
  "outputs|JSON, cold|Outputs/format=json/impl=cold|bare Gin, fixed bytes|Outputs/format=json/impl=fixed|req/s,sec/op"
  "outputs|ICS, cached|Outputs/format=ics/impl=cached|bare Gin, fixed bytes|Outputs/format=ics/impl=fixed|req/s,sec/op"
  "outputs|ICS, 304 Not Modified|Outputs/format=ics/impl=notmodified|bare Gin, fixed bytes|Outputs/format=ics/impl=fixed|req/s,sec/op"
  "outputs|ICS, cold|Outputs/format=ics/impl=cold|bare Gin, fixed bytes|Outputs/format=ics/impl=fixed|req/s,sec/op"
  "jobs|aggregation job, 1 worker|Jobs/impl=elmcity/workers=1|SDK enqueue+dequeue+delete|Jobs/impl=sdk-queue-roundtrip|jobs/s"
  "synthetic|aggregate a 200-feed hub|SyntheticHub/impl=elmcity-aggregate|go-ical decode + fields, zones cached|SyntheticHub/impl=goical-extract-cachedzones|events/s"
  "synthetic|aggregate a 200-feed hub|SyntheticHub/impl=elmcity-aggregate|go-ical decode only|SyntheticHub/impl=goical-decode|events/s"
)

selected() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

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
tools/azurite.sh start "$instance" "$port_base" >&2
export ELMCITY_TEST_STORAGE
ELMCITY_TEST_STORAGE=$(tools/azurite.sh conn "$instance")

# A suite that fails (or does not build) is reported as failed; one that has
# no matching benchmark yet as not run. Neither stops the others.
for s in "${suites[@]}"; do
  IFS='|' read -r name pkg re bt n col <<<"$s"
  selected "$name" || continue
  n=${n:-$count}
  [ "$n" -le "$count" ] || n=$count
  t0=$SECONDS
  echo "== $name: go test -bench '$re' -benchtime $bt -count $n $pkg" >&2
  if go test -run '^$' -bench "$re" -benchtime "$bt" -count "$n" -benchmem "$pkg" >"$out/$name.txt" 2>&1; then
    echo ok >"$out/$name.status"
  else
    echo failed >"$out/$name.status"
    echo "   failed: see $out/$name.txt" >&2
  fi
  "${benchstat[@]}" -format csv "$out/$name.txt" >"$out/$name.csv" 2>/dev/null || true
  if [ "$col" = "-" ]; then
    "${benchstat[@]}" "$out/$name.txt" >"$out/$name.benchstat.txt" 2>&1 || true
  else
    "${benchstat[@]}" -col "$col" "$out/$name.txt" >"$out/$name.benchstat.txt" 2>&1 || true
  fi
  echo "   $((SECONDS - t0))s" >&2
done

picked=()
for r in "${rows[@]}"; do
  selected "${r%%|*}" && picked+=("$r")
done
echo
echo "elmcity benchmarks: medians of $count runs (fewer where noted in tools/bench.sh); ratio > 1 means ours is faster"
GOWORK=off go -C tools/benchsummary run . -dir "$out" "${picked[@]}"
echo
echo "benchstat tables and raw results in $out; $((SECONDS - started))s in all"
