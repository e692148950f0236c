#!/usr/bin/env bash
# Runs every test of every module in the workspace, with the race detector.
#
# On a fresh Debian machine with only Go installed it first installs what the
# tests need (as root, or through sudo): redis-server, PostgreSQL, Chromium,
# Node.js and wrk from Debian, then the npm fixtures from their lock files.
# Under CI (CI=true) a test that cannot find its server fails instead of
# skipping. Last, the release check (docs/RELEASING.md) installs every
# published module from a file-based module proxy, as a user would.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
	echo "==> installing Debian packages: ${need[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	# Wait up to 10 minutes for another apt or dpkg process to finish
	# instead of failing at once on its lock.
	lock=(-o DPkg::Lock::Timeout=600)
	$sudo apt-get "${lock[@]}" update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The package starts a system-wide redis-server and PostgreSQL; the tests
# start their own on free ports, so the system ones are not needed.

for lock in $(git ls-files '*package-lock.json' 2>/dev/null || true); do
	dir=$(dirname "$lock")
	echo "==> npm ci in $dir"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done

if [ "${CI:-}" = "true" ]; then
	export SESSIONKIT_REQUIRE_SERVERS=1
fi

echo "==> go vet work"
go vet work
echo "==> go test -race work"
go test -race -timeout 40m -count=1 work "$@"

# Only for a full run: arguments select tests, and these are not ones.
if [ $# -eq 0 ]; then
	# sessionctl at its full size (100,000 sessions per store, FerretDB
	# too); under -race above these tests run 5,000 (1,000 on FerretDB),
	# as the race detector slows them severalfold.
	echo "==> sessionctl at 100,000 sessions per store"
	go test -count=1 -timeout 40m ./cmd/sessionctltest
	echo "==> release check: every published module installed from a file-based module proxy"
	go run ./internal/release
fi
