#!/bin/sh
# run.sh runs sessionkit's end-to-end load benchmark: it builds benchserver
# and loadbench, installs the express-session server's packages from
# node/package-lock.json, and runs loadbench, which starts its own
# redis-server and servers on loopback ports, runs wrk against each in
# interleaved rounds, prints the table and writes it, the raw results and a
# chart to docs/benchmarks/. Extra arguments go to loadbench (see
# loadbench -h), for example: ./run.sh -d 5s -rounds 7
#
# Needs: go, wrk, redis-server, node and npm. Takes about 6 minutes with
# the defaults (10 servers x 2 endpoints x (5 rounds x 3 s + 3 s warm-up)).
set -eu
cd "$(dirname "$0")"
for bin in go wrk redis-server node npm; do
	command -v "$bin" >/dev/null || { echo "run.sh: $bin is not installed" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/benchserver" ./cmd/benchserver
go build -o "$tmp/loadbench" ./cmd/loadbench
(cd node && npm ci --no-audit --no-fund --loglevel=error)
"$tmp/loadbench" -server "$tmp/benchserver" -node node -out ../docs/benchmarks "$@"
