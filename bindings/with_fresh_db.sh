#!/usr/bin/env bash
# Run CMD with a fresh, empty database on DATABASE_URL's server, dropped afterwards:
#   bash bindings/with_fresh_db.sh build/diamond
# The new database's URL is appended to CMD's arguments and exported as
# TASKER_DRIVER_DATABASE_URL. DATABASE_URL defaults to the local server
# (postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); its role needs CREATEDB.
set -euo pipefail

(($# > 0)) || { echo "usage: $0 CMD [ARG...]" >&2; exit 2; }
command -v psql >/dev/null || { echo "with_fresh_db: psql not found (Debian package postgresql-client)" >&2; exit 1; }

server="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
re='^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$'
[[ $server =~ $re ]] || { echo "with_fresh_db: DATABASE_URL is not a postgres:// URL" >&2; exit 1; }
db="tasker_c_driver_$$"
url="${BASH_REMATCH[1]}/${db}${BASH_REMATCH[4]}"

psql_server() { psql -X -w -q -v ON_ERROR_STOP=1 "$server" "$@" </dev/null; }
drop() { psql_server -c "DROP DATABASE IF EXISTS \"${db}\" WITH (FORCE)" >/dev/null || echo "with_fresh_db: could not drop ${db}" >&2; }

echo "==> creating database ${db}"
psql_server -c "CREATE DATABASE \"${db}\"" >/dev/null
trap drop EXIT
TASKER_DRIVER_DATABASE_URL="$url" "$@" "$url"
