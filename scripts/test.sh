#!/usr/bin/env bash
# The project's test command (`make test`, and CI through .ci/run).
#
# Runs setup (packages, Go, PostgreSQL; exports DATABASE_URL), then, failing fast:
#   1. gofmt     gofmt -l core ffi prints nothing
#   2. go vet    go vet ./...
#   3. go test   go test -count=1 -timeout 20m ./...   (DATABASE_URL passed through)
#   4. C ABI     make lib, then make -C bindings test   (once ffi/ and bindings/Makefile exist)
#   5. rspec     cd ruby_gem && rspec                   (once ruby_gem/spec exists)
#   6. gem       build the source gem, gem install it offline, require it, ping
# Environment: as scripts/setup.sh (DATABASE_URL, TASKER_PG_*, TASKER_SKIP_PACKAGES).
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$TASKER_ROOT"

started=$SECONDS
passed=()
skipped=()

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

# skip_step NAME WHY: record a step that has nothing to run yet.
skip_step() {
	say "test: ${1}: skipped (${2})"
	skipped+=("$1")
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

[[ -f go.mod ]] || die "go.mod not found in ${TASKER_ROOT}: the Go module is missing"

# 1. gofmt over the Go trees that exist.
go_dirs=()
for d in core ffi; do
	[[ -d $d ]] && go_dirs+=("$d")
done
if ((${#go_dirs[@]} > 0)); then
	run_step gofmt gofmt_clean "${go_dirs[@]}"
else
	skip_step gofmt "neither core/ nor ffi/ exists"
fi

# 2-3. vet and the Go tests (they read DATABASE_URL and create their own databases).
run_step "go vet" go vet ./...
run_step "go test" go test -count=1 -timeout 20m ./...

# 4. Hook: the C ABI, driven without Ruby by the C program in bindings/.
if [[ -d ffi ]]; then
	run_step "make lib" make --no-print-directory lib
	if [[ -f bindings/Makefile ]]; then
		run_step "bindings C driver" make --no-print-directory -C bindings test
	else
		skip_step "bindings C driver" "bindings/Makefile does not exist yet"
	fi
else
	skip_step "make lib" "ffi/ does not exist yet"
	skip_step "bindings C driver" "ffi/ does not exist yet"
fi

# 5. Hook: the Ruby gem's specs, against the library built by `make lib` (build/).
if [[ -d ruby_gem/spec ]]; then
	need_cmd rspec "Debian package ruby-rspec; run scripts/setup.sh as root"
	run_step rspec bash -c 'cd ruby_gem && rspec'
else
	skip_step rspec "ruby_gem/spec does not exist yet"
fi

# 6. The source gem installs offline and its extconf builds a working library.
if [[ -f ruby_gem/tasker_core.gemspec ]]; then
	run_step "gem install" bash scripts/gem_install_check.sh
else
	skip_step "gem install" "ruby_gem/tasker_core.gemspec does not exist yet"
fi

say "test.sh OK in $((SECONDS - started))s; passed: $(join "${passed[@]}"); skipped: $(join "${skipped[@]}")"
