# shellcheck shell=bash
# PostgreSQL discovery for scripts/setup.sh. Source it after common.sh, then call
# ensure_database_url: on return DATABASE_URL is exported and answers `select 1`.
#
# DATABASE_URL is a *base* URL: tests create their own databases on that server, so its role
# needs CREATEDB (the postgres superuser, which is what we find or configure, has it).
#
# Environment (all optional):
#   DATABASE_URL           use this server; it must answer, or we die naming it
#   TASKER_PG_HOST         TCP host to probe            (default 127.0.0.1)
#   TASKER_PG_PORT         port to probe                (default 5432; also the port given to
#                          pg_createcluster when set explicitly)
#   TASKER_PG_SOCKET_DIR   unix socket directory        (default /var/run/postgresql)
#   TASKER_PG_CLUSTER      Debian cluster name to start (default main)
#   TASKER_PG_WAIT         seconds to wait for a started server (default 30)
#   TASKER_PG_PASSWORD     password set on the postgres role when a local cluster accepts no
#                          passwordless login and the role has no password yet (default
#                          postgres; must be URL-safe)

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

: "${TASKER_PG_HOST:=127.0.0.1}"
: "${TASKER_PG_SOCKET_DIR:=/var/run/postgresql}"
: "${TASKER_PG_CLUSTER:=main}"
: "${TASKER_PG_WAIT:=30}"
: "${TASKER_PG_PASSWORD:=postgres}"
# Remember whether the port was chosen by the caller before defaulting it.
_tasker_pg_port_given="${TASKER_PG_PORT:+yes}"
: "${TASKER_PG_PORT:=5432}"

# Last error printed by pg_check, for messages.
_tasker_pg_err=""

# pg_check URL: true when URL answers `select 1` within a few seconds. Never prompts for a
# password (-w), ignores ~/.psqlrc (-X). Leaves psql's error in _tasker_pg_err.
pg_check() {
	local out
	if out="$(PGCONNECT_TIMEOUT=5 timeout 10 psql -X -w -Atq -c 'select 1' "$1" 2>&1 </dev/null)" &&
		[[ $out == 1 ]]; then
		_tasker_pg_err=""
		return 0
	fi
	_tasker_pg_err="$(head -n 3 <<<"${out:-no answer within 10 s}" | tr -s '\n\t' '  ')"
	return 1
}

# pg_can_create_db URL: true when the URL's role is a superuser or has CREATEDB.
pg_can_create_db() {
	local out
	out="$(PGCONNECT_TIMEOUT=5 timeout 10 psql -X -w -Atq -c \
		'select rolsuper or rolcreatedb from pg_roles where rolname = current_user' "$1" 2>/dev/null </dev/null || true)"
	[[ $out == t ]]
}

# _tasker_pg_candidates PORT: URLs to try, one per line: TCP and the unix socket without a
# password, then TCP with TASKER_PG_PASSWORD (what an earlier run set on a fresh cluster).
_tasker_pg_candidates() {
	local port="$1"
	printf 'postgres://postgres@%s:%s/postgres?sslmode=disable\n' "$TASKER_PG_HOST" "$port"
	if [[ -d $TASKER_PG_SOCKET_DIR ]]; then
		printf 'postgres:///postgres?host=%s&port=%s&user=postgres\n' "$TASKER_PG_SOCKET_DIR" "$port"
	fi
	printf 'postgres://postgres:%s@%s:%s/postgres?sslmode=disable\n' "$TASKER_PG_PASSWORD" "$TASKER_PG_HOST" "$port"
}

# _tasker_pg_probe PORT: print the first candidate URL that answers; false if none does.
_tasker_pg_probe() {
	local url
	while IFS= read -r url; do
		if pg_check "$url"; then
			printf '%s\n' "$url"
			return 0
		fi
		note "no answer from $(redact_url "$url"): ${_tasker_pg_err}"
	done < <(_tasker_pg_candidates "$1")
	return 1
}

# _tasker_pg_start_cluster: start (or create and start) the local Debian cluster
# TASKER_PG_CLUSTER and wait until it accepts connections. Prints its port.
_tasker_pg_start_cluster() {
	local ver="" v port status
	need_cmd pg_lsclusters "Debian package postgresql-common; run scripts/setup.sh as root to install postgresql"
	for v in $(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V); do
		if [[ -d /etc/postgresql/$v/$TASKER_PG_CLUSTER ]]; then
			ver="$v"
			break
		fi
	done
	if [[ -z $ver ]]; then
		ver="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -V | tail -n 1)"
		[[ -n $ver ]] || die "no PostgreSQL server installed (/usr/lib/postgresql is empty): install the Debian package postgresql, or set DATABASE_URL"
		local create=(pg_createcluster "$ver" "$TASKER_PG_CLUSTER" --start)
		if [[ -n $_tasker_pg_port_given ]]; then
			create+=(--port "$TASKER_PG_PORT")
		fi
		say "no PostgreSQL cluster exists: creating one (${create[*]})"
		as_root "${create[@]}" >&2 || die "'${create[*]}' failed: see its output above"
	else
		status="$(pg_lsclusters -h "$ver" "$TASKER_PG_CLUSTER" | awk '{print $4}')"
		if [[ $status == online ]]; then
			note "cluster ${ver}/${TASKER_PG_CLUSTER} is already online"
		else
			say "starting PostgreSQL cluster ${ver}/${TASKER_PG_CLUSTER} (pg_ctlcluster --skip-systemctl-redirect ${ver} ${TASKER_PG_CLUSTER} start)"
			as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$TASKER_PG_CLUSTER" start >&2 ||
				die "could not start cluster ${ver}/${TASKER_PG_CLUSTER}: see /var/log/postgresql/postgresql-${ver}-${TASKER_PG_CLUSTER}.log"
		fi
	fi
	port="$(pg_lsclusters -h "$ver" "$TASKER_PG_CLUSTER" | awk '{print $3}')"
	[[ $port =~ ^[0-9]+$ ]] || die "could not read the port of cluster ${ver}/${TASKER_PG_CLUSTER} from pg_lsclusters"

	say "waiting up to ${TASKER_PG_WAIT}s for PostgreSQL ${ver}/${TASKER_PG_CLUSTER} on port ${port}"
	local deadline=$((SECONDS + TASKER_PG_WAIT))
	until pg_isready -q -h "$TASKER_PG_SOCKET_DIR" -p "$port" -t 1; do
		if ((SECONDS >= deadline)); then
			die "PostgreSQL ${ver}/${TASKER_PG_CLUSTER} did not accept connections on port ${port} within ${TASKER_PG_WAIT}s: see /var/log/postgresql/postgresql-${ver}-${TASKER_PG_CLUSTER}.log"
		fi
		sleep 1
	done
	printf '%s\n' "$port"
}

# _tasker_pg_password_url PORT: for a local cluster that refuses passwordless logins (a fresh
# Debian cluster uses peer auth on the socket and scram on TCP), give the postgres role the
# password TASKER_PG_PASSWORD, if it has none yet, through the socket as the postgres OS user.
# Prints the resulting TCP URL; false when that is not possible.
_tasker_pg_password_url() {
	local port="$1" has_pw url
	url="postgres://postgres:${TASKER_PG_PASSWORD}@127.0.0.1:${port}/postgres?sslmode=disable"
	if pg_check "$url"; then
		printf '%s\n' "$url"
		return 0
	fi
	has_pw="$(as_postgres psql -X -w -Atq -h "$TASKER_PG_SOCKET_DIR" -p "$port" -d postgres \
		-c "select rolpassword is not null from pg_authid where rolname = 'postgres'" 2>/dev/null </dev/null)" || {
		note "could not connect as the postgres OS user through ${TASKER_PG_SOCKET_DIR} (port ${port})"
		return 1
	}
	if [[ $has_pw == t ]]; then
		note "the postgres role already has a password (not ours): leaving it alone"
		return 1
	fi
	say "setting a password on the local postgres role so TCP logins work (TASKER_PG_PASSWORD)"
	# psql interpolates :'pw' (quoted safely) only in scripts read from stdin, not in -c.
	printf '%s\n' "alter role postgres password :'pw';" |
		as_postgres psql -X -w -q -h "$TASKER_PG_SOCKET_DIR" -p "$port" -d postgres \
			-v ON_ERROR_STOP=1 -v pw="$TASKER_PG_PASSWORD" >&2 || return 1
	pg_check "$url" || {
		note "still no answer from $(redact_url "$url"): ${_tasker_pg_err}"
		return 1
	}
	printf '%s\n' "$url"
}

# ensure_database_url: export a DATABASE_URL that answers, finding or starting PostgreSQL.
ensure_database_url() {
	need_cmd psql "Debian package postgresql-client; run scripts/setup.sh as root to install it"
	need_cmd timeout "coreutils"
	local url port

	# (a) The caller's URL wins; it must answer.
	if [[ -n ${DATABASE_URL:-} ]]; then
		say "checking DATABASE_URL=$(redact_url "$DATABASE_URL")"
		pg_check "$DATABASE_URL" ||
			die "DATABASE_URL=$(redact_url "$DATABASE_URL") does not answer 'select 1': ${_tasker_pg_err}(fix the URL or unset DATABASE_URL to let setup find or start a local PostgreSQL)"
		pg_can_create_db "$DATABASE_URL" ||
			warn "the role in DATABASE_URL has neither SUPERUSER nor CREATEDB: tests that create their own database will fail"
		export DATABASE_URL
		return 0
	fi

	# (b) A server that already answers without a password.
	say "looking for PostgreSQL on ${TASKER_PG_HOST}:${TASKER_PG_PORT} and ${TASKER_PG_SOCKET_DIR}"
	if url="$(_tasker_pg_probe "$TASKER_PG_PORT")"; then
		DATABASE_URL="$url"
		export DATABASE_URL
		return 0
	fi

	# (c) Nothing answers: start (or create) the local Debian cluster, then connect to it.
	port="$(_tasker_pg_start_cluster)"
	if url="$(_tasker_pg_probe "$port")" || url="$(_tasker_pg_password_url "$port")"; then
		DATABASE_URL="$url"
		export DATABASE_URL
		pg_can_create_db "$DATABASE_URL" ||
			warn "the role in DATABASE_URL has neither SUPERUSER nor CREATEDB: tests that create their own database will fail"
		return 0
	fi
	die "PostgreSQL is running on port ${port} but refuses the postgres role without a password: set DATABASE_URL to a URL with a role that has CREATEDB, or allow trust auth for 127.0.0.1 in pg_hba.conf"
}

# database_url_for NAME: DATABASE_URL (a server URL) pointing at database NAME instead.
database_url_for() {
	ruby -ruri -e 'u = URI(ARGV[0]); u.path = "/" + ARGV[1]; puts u' "$DATABASE_URL" "$1"
}

# ensure_database NAME: create database NAME on DATABASE_URL's server unless it exists.
ensure_database() {
	local name="$1"
	if [[ -z "$(psql "$DATABASE_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = '${name}'")" ]]; then
		say "creating database ${name}"
		psql "$DATABASE_URL" -qc "CREATE DATABASE \"${name}\"" >/dev/null
	fi
}
