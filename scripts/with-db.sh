#!/usr/bin/env bash
# Run a command with setup done and DATABASE_URL exported, from the repository root:
#   bash scripts/with-db.sh go test -run '^$' -bench . ./...
# Used by the Makefile's bench and fuzz targets. Environment: as scripts/setup.sh.
set -euo pipefail

(($# > 0)) || { printf 'usage: %s CMD [ARG...]\n' "$0" >&2; exit 2; }

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$TASKER_ROOT"

say "running: $*"
exec "$@"
