#!/usr/bin/env bash
# The project's test command (`make test`, and CI through .ci/run).
#
# Runs setup (packages, Go, PostgreSQL; exports DATABASE_URL), then, failing fast:
#   1. gofmt     gofmt -l core ffi prints nothing
#   2. sqlc      the checked-in core/store/internal/dbsqlc is what sqlc generates (make generate)
#   3. go vet    go vet ./...
#   4. go test   go test -count=1 -timeout 20m ./...   (DATABASE_URL passed through; the
#                PgBouncer tests start a private pgbouncer, so it must be installed)
#   5. C ABI     make lib, then make -C bindings test
#   6. rspec     cd ruby_gem && rspec (the dashboard's browser spec needs chromium)
#   7. gem       build the source gem, gem install it offline, require it, ping
#   8. rails     examples/rails_app: bundle install --local, db:prepare, rspec (on that gem)
# Every suite must exist: a missing one fails the run, it is never skipped.
# Environment: as scripts/setup.sh (DATABASE_URL, TASKER_PG_*, TASKER_SKIP_PACKAGES).
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$TASKER_ROOT"

started=$SECONDS
passed=()

# join LIST...: the items separated by ", ", or "none".
join() {
	(($# > 0)) || { printf 'none'; return; }
	local IFS=,
	local s="$*"
	printf '%s' "${s//,/, }"
}

# run_step NAME CMD...: announce NAME, run CMD, die naming the step if it fails.
run_step() {
	local name="$1" rc=0
	shift
	say "test: ${name} ($*)"
	"$@" || rc=$?
	if ((rc != 0)); then
		die "test step '${name}' failed (exit ${rc}); passed before it: $(join "${passed[@]}")"
	fi
	passed+=("$name")
}

# need_path PATH WHAT: die unless PATH exists (a suite that vanished fails the run).
need_path() {
	[[ -e $1 ]] || die "${1} not found: ${2} cannot run"
}

# gofmt_clean DIR...: fail listing the files gofmt would change.
gofmt_clean() {
	local out
	out="$(gofmt -l "$@")" || return 1 # gofmt itself failed (e.g. a syntax error)
	if [[ -n $out ]]; then
		printf '%s\n' "$out" >&2
		printf '%s\n' "these files are not gofmt-formatted: run 'make fmt'" >&2
		return 1
	fi
}

need_path go.mod "the Go module"
for p in core ffi bindings/Makefile ruby_gem/spec ruby_gem/tasker_core.gemspec; do
	need_path "$p" "the test suite of ${p%%/*}"
done
need_path core/store/sqlc.yaml "the generated-code check (sqlc diff)"
# The PgBouncer tests (go test's TestPgBouncer*, rspec's pgbouncer_spec) start their own PgBouncer.
have pgbouncer || [[ -x /usr/sbin/pgbouncer ]] ||
	die "pgbouncer not found (Debian package pgbouncer; scripts/setup.sh installs it): the PgBouncer tests cannot run"
# The dashboard's browser spec (rspec's web_browser_spec) screenshots pages with headless Chromium.
have chromium || die "chromium not found (Debian package chromium; scripts/setup.sh installs it): the dashboard's browser spec cannot run"
need_path tools/go.mod "the generated-code check (sqlc diff)"

# 1. gofmt.
run_step gofmt gofmt_clean core ffi

# 2. Generated query code that does not match queries/ and migration/ fails,
# naming the difference (sqlc is built from the module cache setup filled).
run_step "sqlc diff" go -C tools tool sqlc -f ../core/store/sqlc.yaml diff

# 3-4. vet and the Go tests (they read DATABASE_URL and create their own databases).
run_step "go vet" go vet ./...
run_step "go test" go test -count=1 -timeout 20m ./...

# 5. The C ABI, driven without Ruby by the C program in bindings/.
run_step "make lib" make --no-print-directory lib
run_step "bindings C driver" make --no-print-directory -C bindings test

# 6. The Ruby gem's specs, against the library built by `make lib` (build/).
need_cmd rspec "Debian package ruby-rspec; run scripts/setup.sh as root"
run_step rspec bash -c 'cd ruby_gem && rspec'

# 7. The source gem installs offline and its extconf builds a working library
# (into a GEM_HOME kept for step 8).
gem_home="$(mktemp -d)"
trap 'rm -rf "$gem_home"' EXIT
run_step "gem install" env TASKER_GEM_HOME="$gem_home" bash scripts/gem_install_check.sh

# 8. examples/rails_app's specs, on the installed gem, as a Rails team runs them.
need_path examples/rails_app/Gemfile "the Rails example app's specs"
run_step "rails example" env TASKER_GEM_HOME="$gem_home" bash scripts/rails_example.sh

say "test.sh OK in $((SECONDS - started))s; passed: $(join "${passed[@]}")"
