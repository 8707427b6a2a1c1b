# artprune: build, test and demo. Everything runs on a fresh machine with only Go installed; `make e2e` also needs
# the real clients that .ci/run installs (skopeo, parallel, jq, crane, regctl).
SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build test race vet fmt demo clean e2e
.PHONY: fuzz image completions
.PHONY: bench bench-scale bench-go

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/artprune ./cmd/artprune
	$(GO) build -trimpath -o $(BIN)/fakeartifactory ./cmd/fakeartifactory

## test: unit, emulator, conformance and CLI integration tests (a few minutes on 2 cores)
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

## race: the tests under the race detector
race:
	$(GO) test -race -count=1 ./...

## fuzz: each fuzz target for FUZZTIME (default 10s), starting from its seed corpus in <package>/testdata/fuzz/
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParseDocument$$' -fuzztime=$(FUZZTIME) ./prune
	$(GO) test -run='^$$' -fuzz='^FuzzClassify$$' -fuzztime=$(FUZZTIME) ./prune
	$(GO) test -run='^$$' -fuzz='^FuzzValidateFolderPath$$' -fuzztime=$(FUZZTIME) ./prune
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeAQL$$' -fuzztime=$(FUZZTIME) ./artifactory

fmt:
	gofmt -l -w .

## demo: artprune's main job against the embedded emulator, on the seed story's scenario: dry run, then --delete
demo: build
	./scripts/demo.sh

## image: the container image (multi-stage Dockerfile: static, non-root), stamped like the binary; needs Docker
IMAGE ?= artprune:$(VERSION)
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .

## completions: shell completion scripts in bin/completions (artprune completion bash|zsh|fish|powershell)
completions: build
	mkdir -p $(BIN)/completions
	for sh in bash zsh fish powershell; do $(BIN)/artprune completion $$sh > $(BIN)/completions/artprune.$$sh; done

clean:
	rm -rf $(BIN)

## e2e: end to end with the real clients (crane, regctl, skopeo; .ci/run installs them, with parallel and jq): the
## scenarios pushed, pruned (dry run, then --delete) and pulled back, and the comparison with the skopeo#2497 script,
## checked against docs/comparison.md (E2E_UPDATE=1 make e2e rewrites it). A few minutes on 2 cores.
e2e: build
	$(GO) test -tags e2e -count=1 -v ./e2e/...

## bench: the shell script of skopeo#2497 (real jq, parallel, skopeo; scripts/jf) against artprune prune --delete, each
## on a fresh emulator holding the same generated repository, 10 ms per request: time, requests by class, peak RSS,
## deletions; checks that artprune deletes a superset of what the script deletes safely. About 5 minutes; results in
## .cache/bench, BENCH_UPDATE=1 rewrites the measured section of docs/benchmarks.md (settings: scripts/bench/bench.sh)
bench: build
	./scripts/bench/bench.sh

## bench-scale: artprune dry runs at 10,000, 100,000 and 1,000,000 manifest folders (no latency): time and peak RSS,
## a table and a plot. About 10 minutes and 12 GiB for the emulator; BENCH_UPDATE=1 rewrites docs/benchmarks.md
bench-scale: build
	./scripts/bench/bench-scale.sh

## bench-go: the planner's Go benchmarks (10k, 100k and 1M folders from an in-memory source), with allocations, and
## apply's approval step (300,000 approved against 1,000,000 planned, and the old quadratic matching at 10k)
bench-go:
	$(GO) test -run='^$$' -bench='^BenchmarkPlan$$' -benchmem ./prune
	$(GO) test -run='^$$' -bench='^BenchmarkApprove$$' -benchmem -benchtime=3x ./internal/planfile
