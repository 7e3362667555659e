#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it: installs what it
# needs (Go modules, Azurite via npm ci, Debian's chromium and xmllint for
# the browser and XML schema tests), starts a private Azurite on
# 127.0.0.1, runs vet, golangci-lint and the tests of all three modules, prints the
# conformance figures over ../shared/corpus, stops Azurite, and exits
# non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port_base=${ELMCITY_TEST_AZURITE_PORT:-10100}
instance=test-$$

go version
node --version
if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
go mod download -C shared && go mod download -C webrole && go mod download -C workerrole
# The hub page's browser test drives Debian's chromium, and the XML
# output is validated against its schema with xmllint (libxml2-utils);
# those tests fail, not skip, without them unless -short.
debs=()
command -v chromium >/dev/null || debs+=(chromium)
command -v xmllint >/dev/null || debs+=(libxml2-utils)
if [ ${#debs[@]} -gt 0 ]; then
  echo "== installing ${debs[*]}"
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}"
fi

cleanup() { tools/azurite.sh stop "$instance" || true; rm -rf ".azurite/$instance"; }
trap cleanup EXIT
# Find a free block of three ports so a developer's own Azurite or `make dev`
# can keep running beside the tests.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
while port_open "$port_base" || port_open $((port_base + 1)) || port_open $((port_base + 2)); do
  port_base=$((port_base + 10))
done
tools/azurite.sh start "$instance" "$port_base"
export ELMCITY_TEST_STORAGE
ELMCITY_TEST_STORAGE=$(tools/azurite.sh conn "$instance")
echo "tests use Azurite on 127.0.0.1:$port_base-$((port_base + 2))"

modules="./shared/... ./webrole/... ./workerrole/..."
echo "== go vet"
go vet $modules
echo "== gofmt"
unformatted=$(gofmt -l shared webrole workerrole)
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== golangci-lint (.golangci.yaml; the version is pinned in tools/lint/go.mod)"
GOWORK=off go -C tools/lint build -o "$root/bin/golangci-lint" github.com/golangci/golangci-lint/v2/cmd/golangci-lint
bin/golangci-lint run $modules
echo "== go test"
go test -race -count=1 -timeout 20m ${ELMCITY_TEST_FLAGS:-} $modules
# The conformance figures (TestCorpus above fails below 99% of comparable
# files matching): the share that match and every difference.
echo "== conformance over ../shared/corpus"
if [ -d ../shared/corpus/expected ] || [ -n "${ELMCITY_CORPUS:-}" ]; then
  go test -count=1 -run '^TestCorpus$' -v ./shared/calendar/ | grep -v -E '^(=== |--- PASS|PASS$|ok )'
else
  echo "no ../shared/corpus beside the repository: skipped"
fi
