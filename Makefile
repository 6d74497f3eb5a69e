# IPS Export. `make run` serves the embedded default; `make test` runs every test.
# Both install the Debian packages they need when missing.

SHELL := /bin/bash
GO ?= go
BIN := bin/ipsd
# `make install` copies $(BIN) to $(DESTDIR)$(PREFIX)/bin.
PREFIX ?= /usr/local
# The commit `ipsd version` prints: Go stamps it where it can read the
# repository (-buildvcs=auto overrides a GOFLAGS that turns it off); the
# ldflag covers a git worktree, which Go's stamping does not recognise.
BUILD_COMMIT := $(shell git describe --always --dirty=+modified --abbrev=40 2>/dev/null)
BUILD_FLAGS := -buildvcs=auto -ldflags "-X main.buildCommit=$(BUILD_COMMIT)"
DATA ?= ./data
ADDR ?= 127.0.0.1:8080
FUZZTIME ?= 50000x
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

# libvips for rendering (cgo); icc-profiles-free and Ghostscript's profiles
# (libgs-common) back the standard icc= names; ghostscript rasterises EPS
# and PostScript sources. The rest are the real peers the tests talk to:
# PostgreSQL, SOAP toolkits (zeep, PHP SoapClient), xmllint, poppler's
# pdftoppm, which decodes the PDFs we write, and Chromium for the Jobs
# page's browser test (driven by chromedp). openssl and curl run the
# README's scale-out commands as written (TestProcessScalingOutReadme).
# Never nodejs/npm from Debian: it would replace the machine's Node 20.
# curl, xmllint (libxml2-utils) and unzip run the README's first examples
# against `make run` (TestReadmeFirstTry runs them as written); unzip -t
# also checks the zips internal/download writes.
RUN_PACKAGES := libvips-dev pkg-config icc-profiles-free ghostscript curl libxml2-utils unzip
TEST_PACKAGES := $(RUN_PACKAGES) libvips-tools postgresql python3-zeep php-cli php-soap libxml2-utils poppler-utils chromium openssl curl
# `make bench` compares against the vips CLI; cp, sha256sum and xargs are
# in every Debian. The load and timing are done by cmd/ipsbench itself.
BENCH_PACKAGES := $(RUN_PACKAGES) libvips-tools
BENCH_WORK ?= .cache/bench
BENCH_FLAGS ?=

# `make soak`: many concurrent clients against a real `ipsd serve` for
# SOAK_DURATION (internal/app TestSoak; not part of `make test`).
# SOAK_CLIENTS, SOAK_WORKERS and SOAK_DATABASE (sqlite or postgres) tune it.
SOAK_DURATION ?= 2m
SOAK_CLIENTS ?= 8
SOAK_WORKERS ?= 2
SOAK_DATABASE ?= sqlite

# fuzz targets run briefly by `make test`: package:Target[:fuzztime]. Every
# bound is a count, never a duration: with a duration Go 1.26's fuzz
# coordinator can report its own deadline as a failure when the time runs
# out mid-execution on a loaded machine (golang/go#75804, fixed in 1.27).
# A count of N execs takes about 5-10 s here for the parsers; the upload
# fuzzer's executions are slow (a real store and files each).
FUZZ_TARGETS := ./internal/soap:FuzzParse:60000x ./internal/modifier:FuzzParse:100000x ./internal/upload:FuzzUploadRequest:150x

.PHONY: all build install run test test-go fuzz deps-run deps-test deps-bench bench bench-go soak generate vet clean

all: build

define install_missing
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps-run:
	$(call install_missing,$(RUN_PACKAGES))

deps-test:
	$(call install_missing,$(TEST_PACKAGES))

deps-bench:
	$(call install_missing,$(BENCH_PACKAGES))

build: deps-run
	$(GO) build $(BUILD_FLAGS) -o $(BIN) ./cmd/ipsd

# `sudo make install` (or PREFIX=~/.local make install) puts ipsd on PATH.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ipsd

run: build
	./$(BIN) --data "$(DATA)" admin demo --if-new
	./$(BIN) --data "$(DATA)" serve --addr "$(ADDR)"

vet:
	@unformatted=$$($$($(GO) env GOROOT)/bin/gofmt -l cmd internal); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-ed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

test: deps-test vet test-go fuzz

test-go:
	$(GO) test -count=1 -timeout 20m ./...

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		IFS=: read -r pkg name ftime <<< "$$t"; ftime=$${ftime:-$(FUZZTIME)}; \
		echo "fuzz $$pkg $$name for $$ftime"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$$ftime $$pkg || exit 1; \
	done

# The whole service against libvips itself (issue 6): one line per target.
# Inputs are generated once into $(BENCH_WORK) and reused; see PERFORMANCE.md.
bench: deps-bench build
	$(GO) build -o bin/bimgbaseline ./cmd/bimgbaseline
	$(GO) build -o bin/ipsbench ./cmd/ipsbench
	./bin/ipsbench -work $(BENCH_WORK) -bin bin $(BENCH_FLAGS)

# The Go benchmarks of the hot paths, with allocations.
bench-go: deps-run
	$(GO) test -run '^$$' -bench Render -benchmem -benchtime 20x ./internal/render/
	$(GO) test -run '^$$' -bench . -benchmem ./internal/soap/ ./internal/download/
	$(GO) test -run '^$$' -bench Parse -benchmem ./internal/modifier/

soak: deps-test
	IPSD_SOAK=1 IPSD_SOAK_DURATION=$(SOAK_DURATION) IPSD_SOAK_CLIENTS=$(SOAK_CLIENTS) \
	IPSD_SOAK_WORKERS=$(SOAK_WORKERS) IPSD_SOAK_DATABASE=$(SOAK_DATABASE) \
	$(GO) test -count=1 -run '^TestSoak$$' -timeout 30m -v ./internal/app

generate:
	$(GO) generate ./...

clean:
	rm -rf bin
