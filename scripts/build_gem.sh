#!/usr/bin/env bash
# Builds the source gem build/tasker_core-<version>.gem: the Ruby files plus
# the Go module (core/, ffi/, go.mod, go.sum) and its vendored dependencies
# under go/, so `gem install` builds libtasker_core.so offline with only Go
# installed (ruby_gem/ext/tasker_core/extconf.rb).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
ensure_go
need_cmd gem "Debian package ruby"

stage="$root/ruby_gem/go"
trap 'rm -rf "$stage"' EXIT
rm -rf "$stage"
mkdir -p "$stage" "$root/build"
say "staging the Go module in ruby_gem/go (without tests)"
cp go.mod go.sum "$stage/"
tar --exclude='*_test.go' --exclude='testdata' --exclude='taskertest' -cf - core ffi | tar -xf - -C "$stage"
# The gem builds the library only; test helpers and the demo stay out.
rm -rf "$stage/core/cmd"
say "vendoring Go dependencies (go mod vendor)"
(cd "$stage" && go mod vendor)
say "gem build"
(cd ruby_gem && gem build tasker_core.gemspec --output "$root/build/tasker_core.gem" >/dev/null)
say "built build/tasker_core.gem ($(du -h build/tasker_core.gem | cut -f1))"
