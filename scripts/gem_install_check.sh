#!/usr/bin/env bash
# Proves the source gem installs and works: builds it (scripts/build_gem.sh),
# installs it offline (GOPROXY=off) into a throwaway GEM_HOME (TASKER_GEM_HOME,
# when set, names one that is kept; extconf runs go build on the vendored
# modules), then
# requires it in a clean Ruby with no TASKER_CORE_LIB and pings DATABASE_URL,
# checking the library came from the installed gem and is a release build
# (-tags tasker_release: no tasker_debug_* exports, no test helpers).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${DATABASE_URL:?DATABASE_URL must be set (scripts/setup.sh exports it)}"

bash scripts/build_gem.sh
if [[ -n ${TASKER_GEM_HOME:-} ]]; then
	home="$TASKER_GEM_HOME" # kept for the caller (scripts/rails_example.sh)
	mkdir -p "$home"
else
	home="$(mktemp -d)"
	trap 'rm -rf "$home"' EXIT
fi
say "gem install --local build/tasker_core.gem into GEM_HOME ${home} (builds libtasker_core.so)"
GEM_HOME="$home" GOPROXY=off GOFLAGS=-mod=vendor gem install --local --no-document build/tasker_core.gem >/dev/null
say "requiring the installed gem and pinging the database"
(cd "$home" && env -u TASKER_CORE_LIB GEM_HOME="$home" GEM_PATH="$home:$(gem env gempath)" ruby -e '
  gem "tasker_core"
  require "tasker_core"
  TaskerCore.configure { |c| c.database_url = ENV.fetch("DATABASE_URL") }
  TaskerCore.ping
  lib = TaskerCore::Native::Locator.path
  abort "loaded #{lib}, not the installed gem'"'"'s library" unless lib.start_with?(ENV.fetch("GEM_HOME"))
  debug = `nm -D #{lib}`.scan(/ T (tasker_debug_\w+)/).flatten
  abort "the installed library exports test-only functions: #{debug.join(", ")}" unless debug.empty?
  require "tasker_core/web" # its templates and stylesheet are packaged: pages render (no tables needed for these)
  web = Rack::MockRequest.new(TaskerCore::Web.new(authorize: ->(_env, _action) { true }, secret: "s" * 32))
  page = web.get("/tasks/not-an-id")
  unless page.status == 400 && page.body.include?("task id must be a positive integer") && web.get("/app.css").status == 200
    abort "the installed gem'"'"'s dashboard answered #{page.status}: #{page.body[0, 300]}"
  end
  puts "installed gem OK: #{lib} (a release build: no tasker_debug_* exports; the dashboard renders)"
')
