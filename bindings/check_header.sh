#!/usr/bin/env bash
# Fail when the checked-in header bindings/libtasker_core.h differs from the one
# `go build -buildmode=c-shared ./ffi` generates now.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go build -buildmode=c-shared -o "$tmp/libtasker_core.so" ./ffi
if ! diff -u bindings/libtasker_core.h "$tmp/libtasker_core.h"; then
	echo "bindings/libtasker_core.h is stale: run 'make lib && cp build/libtasker_core.h bindings/' and commit it" >&2
	exit 1
fi
echo "==> bindings/libtasker_core.h is up to date"
