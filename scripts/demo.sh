#!/usr/bin/env bash
# The demo (`make demo`): setup, then the Go demo program against DATABASE_URL.
# Arguments are passed to the demo program. Environment: as scripts/setup.sh.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$TASKER_ROOT"

[[ -d core/cmd/tasker-demo ]] || die "core/cmd/tasker-demo not found: the demo program is not written yet"
say "running the demo (go run ./core/cmd/tasker-demo) against $(redact_url "$DATABASE_URL")"
exec go run ./core/cmd/tasker-demo "$@"
