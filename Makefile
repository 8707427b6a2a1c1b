# artprune: build, test and demo. Everything runs on a fresh machine with only Go installed; `make e2e` also needs
# the real clients that .ci/run installs (skopeo, parallel, jq, crane, regctl).
SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build test race vet fmt demo clean e2e
.PHONY: fuzz image image-check completions
.PHONY: bench bench-scale bench-go

all: build

# artprune is built static (CGO_ENABLED=0), so the same binary runs on any Linux and in the FROM-scratch image.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/artprune ./cmd/artprune
	$(GO) build -trimpath -o $(BIN)/fakeartifactory ./cmd/fakeartifactory

## test: unit, emulator, conformance and CLI integration tests (a few minutes on 2 cores)
test:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

## race: the tests under the race detector
race:
	$(GO) test -race -count=1 ./...

## fuzz: each fuzz target for FUZZTIME (default 50000x: executions, a few seconds each), starting from its seed corpus
## in <package>/testdata/fuzz/. A count rather than a duration: with a duration, Go 1.26's fuzz coordinator can fail a
## target with a bare "context deadline exceeded" at the deadline, no input found (golang/go#75804, fixed in 1.27).
FUZZTIME ?= 50000x
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzParseDocument$$' -fuzztime=$(FUZZTIME) ./prune
	$(GO) test -run='^$$' -fuzz='^FuzzClassify$$' -fuzztime=$(FUZZTIME) ./prune
	$(GO) test -run='^$$' -fuzz='^FuzzValidateFolderPath$$' -fuzztime=$(FUZZTIME) ./prune
	$(GO) test -run='^$$' -fuzz='^FuzzValidateTagFolderPath$$' -fuzztime=$(FUZZTIME) ./prune
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeAQL$$' -fuzztime=$(FUZZTIME) ./artifactory

fmt:
	gofmt -l -w .

## demo: artprune's main job against the embedded emulator, on the seed story's scenario: dry run, then --delete
demo: build
	./scripts/demo.sh

## image: the container image from Dockerfile (FROM scratch: the static binary of make build, the CA certificates,
## user 65532), stamped like the binary. Uses docker when its engine answers, else podman (vfs storage, chroot
## isolation: no daemon, no privileges beyond root, no base image to pull). image-check builds it and checks it.
IMAGE ?= artprune:$(VERSION)
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
CONTAINER ?= $(shell if docker info >/dev/null 2>&1; then echo docker; elif command -v podman >/dev/null 2>&1; then echo podman; fi)
ifeq ($(CONTAINER),podman)
CONTAINER_CMD ?= podman --storage-driver vfs
CONTAINER_BUILD_FLAGS ?= --isolation chroot
else
CONTAINER_CMD ?= $(CONTAINER)
endif
image: build
	@test -n "$(CONTAINER)" || { echo "make image needs docker (with a running engine) or podman (apt-get install podman)" >&2; exit 1; }
	@test -s "$(CA_BUNDLE)" || { echo "make image: no CA bundle at $(CA_BUNDLE) (apt-get install ca-certificates, or set CA_BUNDLE)" >&2; exit 1; }
	rm -rf $(BIN)/image && mkdir -p $(BIN)/image
	cp $(BIN)/artprune $(BIN)/image/artprune
	cp $(CA_BUNDLE) $(BIN)/image/ca-certificates.crt
	$(CONTAINER_CMD) build $(CONTAINER_BUILD_FLAGS) --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
	  -f Dockerfile -t $(IMAGE) $(BIN)/image

## image-check: make image, then check the image's configuration and files (scripts/check-image.sh)
image-check: image
	CONTAINER_CMD='$(CONTAINER_CMD)' ./scripts/check-image.sh $(IMAGE) $(VERSION) $(COMMIT)

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
	$(GO) test -run='^$$' -bench='^BenchmarkApprove$$' -benchmem -benchtime=3x ./planfile
