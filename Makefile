# elmcity: the two commands a newcomer needs are `make dev` and `make test`.
SHELL := bash
MODULES := ./shared/... ./webrole/... ./workerrole/...

.PHONY: dev test vet build bench azurite-start azurite-stop clean

## dev: start Azurite and both roles on 127.0.0.1; Ctrl-C stops everything
dev:
	tools/dev.sh

## test: install what is needed, start a private Azurite, vet and test all modules
test:
	tools/test.sh
	GOWORK=off go -C tools/benchsummary vet ./... && GOWORK=off go -C tools/benchsummary test ./...

## vet: go vet over all three modules
vet:
	go vet $(MODULES)

## build: build both role binaries into bin/
build:
	go build -o bin/webrole ./webrole
	go build -o bin/workerrole ./workerrole

## bench: run the benchmarks against a private Azurite and print one table of figures against their baselines
bench:
	tools/bench.sh

## azurite-start / azurite-stop: a long-lived Azurite on the default ports (10000-10002) for running go test by hand
azurite-start:
	tools/azurite.sh start manual 10000

azurite-stop:
	tools/azurite.sh stop manual

clean:
	rm -rf bin .azurite
