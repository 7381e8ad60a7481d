# tasker-core: the front door. `make help` lists the targets.
# The shell scripts in scripts/ do the work; this file only names them.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Go lives in /usr/local/go on our machines; make it findable even before setup.
export PATH := $(PATH):/usr/local/go/bin

GO        ?= go
BUILD_DIR := build
LIB       := $(BUILD_DIR)/libtasker_core.so
GO_DIRS   := $(wildcard core ffi)
DEMO_ARGS ?=
# make bench / bench-quick: where the JSON goes, and extra tasker-bench flags (-only, -external, -sql-profile).
BENCH_JSON ?= $(BUILD_DIR)/bench.json
# The Ruby worker's rows (the gem's worker on build/libtasker_core.so), through tasker-bench -external.
RUBY_ROWS := -external 'ruby-burn-down=ruby $(CURDIR)/bench/ruby/worker_rows.rb burn-down' \
             -external 'ruby-idle=ruby $(CURDIR)/bench/ruby/worker_rows.rb idle'
BENCH_ARGS ?=

.PHONY: help setup test demo demo-go lib gem fmt vet generate fuzz chaos bench bench-quick bench-micro clean

help: ## list the targets (default)
	@echo "tasker-core: make <target>"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Environment: DATABASE_URL (else a local PostgreSQL is found or started), TASKER_PG_*, TASKER_SKIP_PACKAGES=1"

setup: ## install Debian packages, check Go, find or start PostgreSQL, download Go modules
	@bash scripts/setup.sh

test: ## setup, then gofmt, go vet, go test, C ABI driver and rspec (what CI runs)
	@bash scripts/test.sh

demo: ## setup, build the library, run the Ruby order-fulfillment demo (arguments in DEMO_ARGS)
	@bash scripts/demo.sh $(DEMO_ARGS)

demo-go: ## setup, then run the Go engine demo (go run ./core/cmd/tasker-demo)
	@bash scripts/demo.sh --go $(DEMO_ARGS)

lib: ## build build/libtasker_core.so and its header build/libtasker_core.h from ./ffi
	@test -d ffi || { echo "==> error: ffi/ does not exist yet: nothing to build" >&2; exit 1; }
	@mkdir -p $(BUILD_DIR)
	@echo "==> go build -buildmode=c-shared -o $(LIB) ./ffi"
	@$(GO) build -buildmode=c-shared -o $(LIB) ./ffi
	@test -f $(BUILD_DIR)/libtasker_core.h || { echo "==> error: cgo wrote no header $(BUILD_DIR)/libtasker_core.h" >&2; exit 1; }
	@echo "==> built $(LIB) and $(BUILD_DIR)/libtasker_core.h"

gem: ## build the source gem build/tasker_core.gem (Ruby files + vendored Go module)
	@bash scripts/build_gem.sh

fmt: ## gofmt -w core ffi
	@if [ -n "$(GO_DIRS)" ]; then echo "==> gofmt -w $(GO_DIRS)"; gofmt -w $(GO_DIRS); else echo "==> fmt: no core/ or ffi/ yet"; fi

vet: ## go vet ./...
	$(GO) vet ./...

generate: ## regenerate core/store/internal/dbsqlc from the store's queries and migrations (sqlc, a tool of tools/go.mod)
	$(GO) -C tools tool sqlc -f ../core/store/sqlc.yaml generate

fuzz: ## run every ffi fuzz target for FUZZTIME each (default 2m; make test runs 4000 executions each)
	@bash scripts/with-db.sh make --no-print-directory -C bindings fuzz-smoke FUZZTIME=$${FUZZTIME:-2m}

chaos: ## setup, then the long kill -9 run: 300 tasks, 20 SIGKILLs of real worker processes (make test runs a short one)
	@TASKER_CHAOS_LONG=1 bash scripts/with-db.sh $(GO) test -count=1 -timeout 20m -v -run '^TestKillNineWorkersLoseNothing$$' ./core/dispatcher

bench: ## setup, then this engine (Go and Ruby workers) vs River, one table of ratios (bench/; JSON in BENCH_JSON)
	@bash scripts/setup.sh >/dev/null && $(MAKE) --no-print-directory lib
	@mkdir -p $(dir $(BENCH_JSON))
	@bash scripts/with-db.sh $(GO) -C bench run ./cmd/tasker-bench -json $(CURDIR)/$(BENCH_JSON) $(RUBY_ROWS) $(BENCH_ARGS)

bench-quick: ## setup, then a smaller make bench (under two minutes on an idle 2-core machine)
	@bash scripts/setup.sh >/dev/null && $(MAKE) --no-print-directory lib
	@mkdir -p $(dir $(BENCH_JSON))
	@bash scripts/with-db.sh $(GO) -C bench run ./cmd/tasker-bench -quick -json $(CURDIR)/$(BENCH_JSON) $(RUBY_ROWS) $(BENCH_ARGS)

bench-micro: ## setup, then go test -run '^$' -bench . -benchmem ./... (the Go micro-benchmarks)
	@bash scripts/with-db.sh $(GO) test -run '^$$' -bench . -benchmem ./...

clean: ## remove build output (build/, coverage, the gem's copied .so)
	rm -rf $(BUILD_DIR) coverage coverage.out coverage.html
	rm -f ruby_gem/lib/tasker_core/*.so
