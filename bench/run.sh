#!/bin/sh
# run.sh runs sessionkit's end-to-end load benchmark: it builds benchserver
# and loadbench, installs the express-session server's packages from
# node/package-lock.json (when node and npm are installed; without them the
# express row is left out), and runs loadbench, which starts its own
# redis-server and servers on loopback ports, runs wrk against each in
# interleaved rounds at 64 and then 4 connections, prints the tables (req/s,
# server CPU µs per request, latency, paired ratios, load average) and
# writes them, the raw results and a chart to docs/benchmarks/. Extra
# arguments go to loadbench (see loadbench -h), for example:
#
#	./run.sh                  # the full run, about 16 minutes
#	./run.sh -quick           # smoke test: 1 s runs, 2 rounds, about 2 minutes
#	./run.sh -d 5s -rounds 7 -c 64
#	./run.sh -quick -only hello,sk-mem
#
# Needs: go, wrk, redis-server; node and npm for the express row.
set -eu
cd "$(dirname "$0")"
for bin in go wrk redis-server; do
	command -v "$bin" >/dev/null || { echo "run.sh: $bin is not installed" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/benchserver" ./cmd/benchserver
go build -o "$tmp/loadbench" ./cmd/loadbench
nodedir=node
if command -v node >/dev/null && command -v npm >/dev/null; then
	(cd node && npm ci --no-audit --no-fund --loglevel=error)
else
	echo "run.sh: node or npm is not installed: no express-session row" >&2
	nodedir=
fi
"$tmp/loadbench" -server "$tmp/benchserver" -node "$nodedir" -out ../docs/benchmarks "$@"
