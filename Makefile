# Latchkey. `make run` starts the desktop app, `make test` runs every test;
# both install what they need first (make deps; Debian/Ubuntu).

GO            ?= go
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS       := -s -w -X main.version=$(VERSION)
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FYNE_CLI      := fyne.io/tools/cmd/fyne@v1.7.4
FUZZTIME      ?= 30s
BENCHTIME     ?= 1s
LOAD_DURATION ?= 3s

.PHONY: all run tui serve build build-cli build-desktop test bench fuzz lint deps package clean

all: build

## deps: install system packages the builds and tests need (apt-get; skips what is present)
deps:
	@.ci/deps

## run: build and start the desktop app
run: deps build-desktop
	./bin/latchkey-desktop

## tui: build and start the terminal UI
tui: build-cli
	./bin/latchkey

## serve: build and start the enrollment server on 127.0.0.1:8080
serve: build-cli
	./bin/latchkey serve

## build: bin/latchkey (pure Go, CGO_ENABLED=0: every command) and bin/latchkey-desktop (Fyne, cgo)
build: build-cli build-desktop

build-cli:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/latchkey ./tui/cmd/latchkey

build-desktop:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/latchkey-desktop .

## test: vet, then every test (unit, integration against real services, interop) with the race detector
test: deps
	$(GO) vet ./...
	@# latchkey must build for the other platforms too (go-keyring and the file lock differ per OS).
	for os in darwin windows; do GOOS=$$os CGO_ENABLED=0 $(GO) build -o /dev/null ./tui/cmd/latchkey || exit 1; done
	@# Allocation counts are asserted without the race detector, which changes escape analysis.
	$(GO) test -run 'Allocs' ./...
	CI=$${CI:-true} .ci/services $(GO) test -race -timeout 20m ./...

## bench: Go benchmarks and the bounded load runs; figures go to stdout
# -p 1: one package at a time, so that no benchmark shares the two cores
# with another package's load run.
# LOAD_DURATION: each target's share of a bounded load run (server's
# BenchmarkVerifyLoad); 10s or more for figures to quote.
bench: deps
	CI=$${CI:-true} LATCHKEY_LOAD_DURATION=$(LOAD_DURATION) .ci/services $(GO) test -p 1 -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## fuzz: run each fuzz target for FUZZTIME (30s)
fuzz:
	FUZZTIME=$(FUZZTIME) .ci/fuzz

## lint: go vet, staticcheck (pinned), and a go.mod that go mod tidy leaves as it is
lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff

## package: Latchkey.tar.xz, a Linux bundle of the desktop app with its .desktop entry and icon (not part of make test)
# fyne packages the binary built above (no second GLFW build with its own
# flags) from a copy of FyneApp.toml, because it bumps Build in the file it reads.
package: deps build-desktop
	$(GO) install $(FYNE_CLI)
	tmp=$$(mktemp -d) && mkdir -p $$tmp/assets && cp FyneApp.toml main.go $$tmp/ && cp assets/icon.png $$tmp/assets/ && \
	(cd $$tmp && PATH="$$($(GO) env GOPATH)/bin:$$PATH" fyne package -os linux --exe $(CURDIR)/bin/latchkey-desktop --name Latchkey) && \
	mv $$tmp/Latchkey.tar.xz . && rm -rf $$tmp
	@tar tJf Latchkey.tar.xz | grep -E 'bin/latchkey-desktop$$|\.desktop$$'
	@ls -l Latchkey.tar.xz

clean:
	rm -rf bin Latchkey.tar.xz
