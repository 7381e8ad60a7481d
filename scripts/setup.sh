#!/usr/bin/env bash
# Prepare this machine for tasker-core: Debian packages, Go, PostgreSQL, Go modules.
# Idempotent: safe to run again; it only installs or starts what is missing.
#
#   bash scripts/setup.sh                  # run it; prints `export DATABASE_URL=...` on stdout
#   eval "$(bash scripts/setup.sh)"        # ... and take DATABASE_URL into this shell
#   source scripts/setup.sh                # from another script: DATABASE_URL is exported
#
# Meant for Debian 12 as root (it uses `sudo -n` when not root and sudo exists).
# Environment: DATABASE_URL and TASKER_PG_* (see scripts/lib/db.sh), and
#   TASKER_SKIP_PACKAGES=1   do not check or install Debian packages
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=scripts/lib/db.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/db.sh"

# Debian packages the project needs: the database, a C toolchain for cgo and the C driver,
# Ruby with the gems Debian packages (RubyGems is not reachable here), and headless Chromium
# for the dashboard's browser spec (spec/tasker_core/web_browser_spec.rb).
TASKER_DEBIAN_PACKAGES=(
	postgresql postgresql-contrib
	gcc libc6-dev make
	ruby ruby-dev ruby-ffi ruby-dry-types ruby-rspec rake bundler puma ruby-rails ruby-activejob
	ruby-pg ruby-rack-test ruby-rspec-rails pgbouncer
	chromium
)

# ensure_packages: install the Debian packages that are missing (apt-get update only then).
ensure_packages() {
	if [[ ${TASKER_SKIP_PACKAGES:-0} == 1 ]]; then
		say "skipping Debian packages (TASKER_SKIP_PACKAGES=1)"
		return 0
	fi
	say "checking Debian packages"
	if ! have dpkg-query; then
		warn "dpkg-query not found (not Debian?): make sure these are installed: ${TASKER_DEBIAN_PACKAGES[*]}"
		return 0
	fi
	local pkg missing=()
	for pkg in "${TASKER_DEBIAN_PACKAGES[@]}"; do
		if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" != ii* ]]; then
			missing+=("$pkg")
		fi
	done
	if ((${#missing[@]} == 0)); then
		note "all ${#TASKER_DEBIAN_PACKAGES[@]} packages installed"
		return 0
	fi
	say "installing missing Debian packages: ${missing[*]}"
	need_cmd apt-get "Debian's apt"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
		die "apt-get update failed (needed to install: ${missing[*]})"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 "${missing[@]}" </dev/null >&2 ||
		die "apt-get install failed for: ${missing[*]}"
}

# ensure_go_modules: download the module's dependencies once go.mod exists.
ensure_go_modules() {
	if [[ ! -f $TASKER_ROOT/go.mod ]]; then
		note "no go.mod yet: skipping go mod download"
		return 0
	fi
	say "downloading Go modules (go mod download)"
	(cd "$TASKER_ROOT" && go mod download) || die "go mod download failed (is the Go module proxy reachable?)"
	# sqlc (make generate, and make test's staleness check) is a tool of its
	# own module, so its dependencies stay out of the library's go.mod and the gem.
	if [[ -f $TASKER_ROOT/tools/go.mod ]]; then
		say "downloading the tools' Go modules (go -C tools mod download)"
		(cd "$TASKER_ROOT/tools" && go mod download) || die "go mod download in tools/ failed (is the Go module proxy reachable?)"
	fi
}

tasker_setup() {
	ensure_packages
	say "checking Go >= ${TASKER_GO_MIN}"
	ensure_go
	ensure_database_url
	note "DATABASE_URL=$(redact_url "$DATABASE_URL")"
	ensure_go_modules
	say "setup done"
}

tasker_setup

# Run as a program (not sourced): hand DATABASE_URL to the caller on stdout.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	q="'\\''"
	printf "export DATABASE_URL='%s'\n" "${DATABASE_URL//\'/$q}"
fi
