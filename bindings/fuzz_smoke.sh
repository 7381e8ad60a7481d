#!/usr/bin/env bash
# Run every fuzz target of ./ffi briefly (go test -fuzz takes one target per run).
#   FUZZTIME=5s (default 3s) bash bindings/fuzz_smoke.sh       # a longer run: FUZZTIME=2m
# New crashers land in ffi/testdata/fuzz/<Target>/; commit them as regression seeds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime="${FUZZTIME:-3s}"
targets="$(go test ./ffi -list '^Fuzz' | grep '^Fuzz')"
for t in $targets; do
	echo "==> fuzz ${t} for ${fuzztime}"
	go test ./ffi -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" >/tmp/fuzz_smoke_$$.log 2>&1 || {
		cat /tmp/fuzz_smoke_$$.log >&2
		rm -f /tmp/fuzz_smoke_$$.log
		echo "fuzz target ${t} failed: reproduce with go test ./ffi -run '${t}/'" >&2
		exit 1
	}
done
rm -f /tmp/fuzz_smoke_$$.log
echo "==> fuzz: $(wc -w <<<"$targets") targets passed (${fuzztime} each)"
