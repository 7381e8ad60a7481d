#!/usr/bin/env bash
# The demo (`make demo`): setup, build the library, then the Ruby
# order-fulfillment example through the tasker_core gem (`tasker-core demo`)
# on the database tasker_demo_ruby of DATABASE_URL's server.
# `scripts/demo.sh --go` runs the Go demo (core/cmd/tasker-demo) instead.
# Other arguments are passed to the demo. Environment: as scripts/setup.sh.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$TASKER_ROOT"

if [[ "${1:-}" == "--go" ]]; then
	shift
	say "running the Go demo (go run ./core/cmd/tasker-demo) against $(redact_url "$DATABASE_URL")"
	exec go run ./core/cmd/tasker-demo "$@"
fi

make --no-print-directory lib
ensure_database tasker_demo_ruby
demo_url="$(database_url_for tasker_demo_ruby)"
say "running the Ruby demo (ruby_gem/exe/tasker-core demo) against $(redact_url "$demo_url")"
DATABASE_URL="$demo_url" TASKER_CORE_LIB="$TASKER_ROOT/build/libtasker_core.so" \
	exec ruby ruby_gem/exe/tasker-core demo "$@"
