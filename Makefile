# goim-edge. The two commands a newcomer needs: `make run` and `make test`.
GO      ?= go
BIN     ?= bin/goim-edge
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_TIME ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG := github.com/goim-edge/goim-edge/app/version
LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(COMMIT) -X $(VERSION_PKG).BuildTime=$(BUILD_TIME)

.PHONY: run test test-deps build gen gen-check lint bench bench-cluster bench-million chaos config-doc metrics-doc

## run: start edge + logic + job in one process on embedded defaults
run:
	$(GO) run -ldflags "$(LDFLAGS)" .

## test: install what the tests need (redis-server, etcd, chromium) when missing, then run every test with -race
test: test-deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

test-deps:
	@bash deploy/test-deps.sh

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

## gen: regenerate kitex_gen/ from idl/
gen:
	rm -rf kitex_gen
	for f in common edge logic push; do $(GO) tool kitex -module github.com/goim-edge/goim-edge idl/$$f.thrift || exit 1; done

## gen-check: fail when kitex_gen/ is not what idl/ generates
gen-check:
	@tmp=$$(mktemp -d) && cp -r kitex_gen $$tmp/before && $(MAKE) -s gen >/dev/null && \
	if diff -r $$tmp/before kitex_gen >/dev/null; then echo "kitex_gen is current"; rm -rf $$tmp; \
	else echo "kitex_gen is stale: run make gen and commit"; rm -rf kitex_gen; mv $$tmp/before kitex_gen; rm -rf $$tmp; exit 1; fi

## config-doc: refresh the default-config listing in docs/configuration.md
config-doc:
	$(GO) test ./app -count=1 -run TestConfigDocKeysExist -update-config-doc

## metrics-doc: refresh the metric table in docs/metrics.md from the registry
metrics-doc:
	$(GO) test ./app -count=1 -run TestMetricsDocMatchesRegistry -update-metrics-doc

## lint: gofmt, go vet, staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^kitex_gen/')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: build
	$(GO) run ./bench/cmd/bench -standard -server-bin $(BIN) -out bench/results

## bench-cluster: the cluster standard set on 4 edges (redis-server, etcd, logic, job, edges started fresh per scenario), then the scaling curve over 1–16 edges; reports in bench/results/cluster and bench/results/scaling
bench-cluster: build test-deps
	$(GO) run ./bench/cmd/bench -standard -cluster 4 -server-bin $(BIN) -out bench/results/cluster
	$(GO) run ./bench/cmd/bench -scaling 1,2,4,8,16 -server-bin $(BIN) -out bench/results/scaling

## bench-million: MILLION devices (1,000,000) over one edge per 18,000, each connecting at most CONNECT_RATE/s per worker; room push, broadcast, push by mid; report in bench/results/million. this 2-core machine holds 200,000 (MILLION=200000 CONNECT_RATE=80), not a million: see README, Performance
MILLION ?= 1000000
CONNECT_RATE ?= 40
bench-million: build test-deps
	$(GO) run ./bench/cmd/bench -million $(MILLION) -connect-rate $(CONNECT_RATE) -only room-fanout,broadcast,push-keys -server-bin $(BIN) -out bench/results/million

## chaos: the full fault suite (a few minutes) on a loopback cluster; report in bench/results/chaos/
chaos: test-deps
	$(GO) test -count=1 -timeout 30m -run TestFaultSuite -v ./bench/chaos -args -chaos.full -chaos.out $(CURDIR)/bench/results/chaos
