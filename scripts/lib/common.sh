# shellcheck shell=bash
# Shared helpers for the scripts under scripts/. Source it, do not run it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# Conventions for every script that sources this file:
#   - `set -euo pipefail` (set here too, so a forgotten line cannot slip through);
#   - scripts only orchestrate: each step is announced with `say`, and any failure ends with
#     `die` naming what is missing and how to fix it;
#   - messages go to stderr, so a script's stdout stays usable (scripts/setup.sh prints an
#     `export DATABASE_URL=...` line there for `eval "$(bash scripts/setup.sh)"`).

set -euo pipefail

# Repository root (the parent of scripts/), whatever the caller's working directory.
TASKER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export TASKER_ROOT

# Minimum Go version (major.minor); go.mod pins the exact toolchain.
TASKER_GO_MIN="1.26"

# say STEP...: announce a step as "==> step".
say() {
	printf '==> %s\n' "$*" >&2
}

# note TEXT...: an indented detail under the current step.
note() {
	printf '    %s\n' "$*" >&2
}

# warn TEXT...: something is off but the script can go on.
warn() {
	printf '==> warning: %s\n' "$*" >&2
}

# die TEXT...: print what is missing or what failed, and exit 1.
die() {
	printf '==> error: %s\n' "$*" >&2
	exit 1
}

# have CMD: true when CMD is on PATH.
have() {
	command -v "$1" >/dev/null 2>&1
}

# need_cmd CMD WHERE: die unless CMD is on PATH; WHERE says where it comes from.
need_cmd() {
	have "$1" || die "required command '$1' not found on PATH (${2:-install it first})"
}

# as_root CMD...: run CMD as root: directly when we are root, else through `sudo -n` when
# sudo exists; otherwise die naming the command.
as_root() {
	if [[ ${EUID:-$(id -u)} -eq 0 ]]; then
		"$@"
	elif have sudo; then
		sudo -n "$@"
	else
		die "'$*' needs root: run this script as root (sudo is not installed)"
	fi
}

# as_postgres CMD...: run CMD as the postgres OS user from /, so it can use peer auth on the
# unix socket. Needs root (or to already be postgres).
as_postgres() {
	if [[ $(id -un) == postgres ]]; then
		(cd / && "$@")
	elif [[ ${EUID:-$(id -u)} -eq 0 ]] && have runuser; then
		(cd / && runuser -u postgres -- "$@")
	elif [[ ${EUID:-$(id -u)} -eq 0 ]]; then
		(cd / && su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
	elif have sudo; then
		(cd / && sudo -n -u postgres -- "$@")
	else
		die "'$*' must run as the postgres OS user: run this script as root"
	fi
}

# redact_url URL: URL with any password replaced by ***, safe to print.
redact_url() {
	# shellcheck disable=SC2001 # sed keeps the regex readable
	sed -E 's#^([a-z]+://[^:/@?]*):[^@/?]*@#\1:***@#' <<<"$1"
}

# ensure_go: put Go on PATH (also looking in /usr/local/go/bin) and check it is at least
# TASKER_GO_MIN; die with the fix otherwise.
ensure_go() {
	if ! have go && [[ -x /usr/local/go/bin/go ]]; then
		export PATH="$PATH:/usr/local/go/bin"
	fi
	have go || die "Go >= ${TASKER_GO_MIN} not found on PATH or in /usr/local/go/bin (install it from https://go.dev/dl into /usr/local/go)"
	local v major minor want_major want_minor
	v="$(go env GOVERSION 2>/dev/null || true)" # e.g. go1.26.8
	v="${v#go}"
	major="${v%%.*}"
	minor="${v#*.}"
	minor="${minor%%[!0-9]*}"
	want_major="${TASKER_GO_MIN%%.*}"
	want_minor="${TASKER_GO_MIN#*.}"
	if [[ ! $major =~ ^[0-9]+$ || ! $minor =~ ^[0-9]+$ ]]; then
		die "could not read the Go version from '$(command -v go)' (go env GOVERSION printed '${v}'); need Go >= ${TASKER_GO_MIN}"
	fi
	if ((major < want_major || (major == want_major && minor < want_minor))); then
		die "Go ${v} at $(command -v go) is too old: need Go >= ${TASKER_GO_MIN} (put a newer Go first on PATH, e.g. /usr/local/go/bin)"
	fi
	note "go ${v} ($(command -v go))"
}
