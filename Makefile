# salesdag — common tasks. `make run` and `make test` are the two set-up commands.
GO        ?= go
BIN       ?= bin/salesdag
PKGS      := ./...
ROWS      ?= 1000000
DATA_DIR  ?= testdata/gen
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
# A static binary (no cgo, no libc) that says what it was built from.
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
BUILD     := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"
# make release: these GOOS/GOARCH pairs into dist/, with SHA256SUMS.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64

.PHONY: all build beam install release run test test-race test-diff test-beam race cover bench bench-go bench-e2e bench-beam lint lint-beam fmt vet fuzz fuzz-run difftest data clean

all: build

build:
	$(BUILD) -o $(BIN) ./cmd/salesdag

# salesdag and gensales into $(go env GOBIN), else $(go env GOPATH)/bin.
install:
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags "$(LDFLAGS)" ./cmd/salesdag ./cmd/gensales

# salesdag-beam: salesdag with the Beam engine (run --engine beam), from
# the beam/ module, which has a go.mod of its own so that the salesdag
# binary never links the Beam SDK. `salesdag run --engine beam` runs it
# from beside itself (bin/) or from PATH.
BEAM_BIN ?= bin/salesdag-beam
beam:
	cd beam && CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o ../$(BEAM_BIN) ./cmd/salesdag-beam

# Cross-built static binaries, dist/salesdag-<os>-<arch>[.exe], and their SHA256SUMS.
release:
	rm -rf dist && mkdir -p dist
	@set -e; for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" = windows ] && ext=.exe; \
		echo "build dist/salesdag-$$os-$$arch$$ext"; \
		GOOS=$$os GOARCH=$$arch $(BUILD) -o dist/salesdag-$$os-$$arch$$ext ./cmd/salesdag; \
	done
	cd dist && sha256sum salesdag-* > SHA256SUMS

# Main job on the sample embedded in the binary; results go to output/.
run: build
	./$(BIN) run

# go vet; then, at the same time, all tests with the race detector and the
# differential test against the pandas reference (internal/difftest: 200
# random inputs and three of 200k+ rows, at 1, 2 and 8 workers) without
# it, which is 10x faster. The race run spends much of its time waiting for
# the CLI tests' subprocesses, so the two share the machine well.
test:
	$(GO) vet $(PKGS)
	@$(MAKE) --no-print-directory -j2 --output-sync=line test-race test-diff
	@$(MAKE) --no-print-directory test-beam

test-race:
	$(GO) test -race -count=1 $(PKGS)

test-diff:
	$(GO) test -count=1 -run '^TestDifferential' ./internal/difftest

# The Beam engine on Prism in-process (beam/ module): the sample, 50
# random inputs and one of 1M rows against the native engine, bad rows,
# runner errors, a failing DoFn, the salesdag-beam command line. Without
# -race: the Beam SDK and Prism make it many times slower.
test-beam:
	cd beam && $(GO) test -count=1 -timeout=20m ./...

# The differential test on N random inputs (seeds FIRST..FIRST+N-1).
N     ?= 5000
FIRST ?= 1
difftest:
	$(GO) test -count=1 -timeout=0 -run '^TestDifferential$$' ./internal/difftest -args -n $(N) -first $(FIRST)

cover:
	$(GO) test -count=1 -coverprofile=coverage.out -coverpkg=./internal/... ./internal/... ./cmd/...
	@$(GO) tool cover -func=coverage.out | tail -n 1

bench: bench-go bench-e2e bench-beam

bench-go:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./internal/...

bench-e2e: build
	bash scripts/bench.sh

# The Beam engine on Prism beside the native engine (1M and 5M rows).
bench-beam: build beam
	bash scripts/bench_beam.sh

data:
	@mkdir -p $(DATA_DIR)
	$(GO) run ./cmd/gensales --rows $(ROWS) --output-file $(DATA_DIR)/sales_$(ROWS).csv

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzReader -fuzztime=60s ./internal/pipeline

# Fuzz whole runs: worker and chunk-size independence, no panic, clean errors.
FUZZTIME ?= 60s
fuzz-run:
	$(GO) test -run='^$$' -fuzz='^FuzzRun$$' -fuzztime=$(FUZZTIME) -parallel=1 ./internal/pipeline

fmt:
	gofmt -w $$(git ls-files '*.go')

# examples/monthly is a module of its own that replaces salesdag with this
# checkout; -mod=mod adds to its go.mod what a new dependency here needs.
vet:
	$(GO) vet $(PKGS)
	$(GO) -C examples/monthly vet -mod=mod ./...
	$(GO) -C beam vet ./...

# gofmt, go vet and staticcheck (pinned by the tool directive in go.mod).
lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) tool staticcheck $(PKGS)

clean:
	rm -rf bin dist output coverage.out
