#!/usr/bin/env bash
# Runs examples/rails_app's specs as a Rails team would run them: the app's
# Gemfile resolved offline (Debian's Rails 6.1 gems and the tasker_core gem
# installed from build/tasker_core.gem), `bin/rails db:prepare` on a database
# of its own (the app's migrations and the engine's schema), then rspec.
#
#   bash scripts/rails_example.sh        # builds and installs the gem first
#   TASKER_GEM_HOME=DIR bash scripts/rails_example.sh
#                                        # uses the gem already installed in DIR
#                                        # (scripts/gem_install_check.sh leaves it there)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/db.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
: "${DATABASE_URL:?DATABASE_URL must be set (scripts/setup.sh exports it)}"
need_cmd bundle "Debian package bundler"

home="${TASKER_GEM_HOME:-}"
if [[ -z $home ]]; then
	home="$(mktemp -d)"
	trap 'rm -rf "$home"' EXIT
	TASKER_GEM_HOME="$home" bash scripts/gem_install_check.sh
fi

db="tasker_rails_example_$$" # created by db:prepare, as on a new developer's machine
server_url="$DATABASE_URL"
drop_db() { psql "$server_url" -qc "DROP DATABASE IF EXISTS \"${db}\" WITH (FORCE)" >/dev/null || true; }
trap 'drop_db; [[ -n ${TASKER_GEM_HOME:-} ]] || rm -rf "$home"' EXIT

cd "$root/examples/rails_app"
export GEM_HOME="$home" GEM_PATH="$home:$(gem env gempath)" RAILS_ENV=test
export DATABASE_URL="$(database_url_for "$db")"
unset TASKER_CORE_LIB
say "examples/rails_app: bundle install --local"
bundle install --local --quiet 2> >(grep -v -e "run Bundler as root" -e "Bundler can ask for sudo" -e "installing your bundle as root" -e "users on this machine" >&2)
say "examples/rails_app: bin/rails db:prepare (the app's schema, then the engine's)"
bin/rails db:prepare
say "examples/rails_app: bundle exec rspec"
bundle exec rspec
