#!/bin/sh
# Installs the Debian packages abri needs to build, run and test, when
# they are missing. Run by `make run` and `make test`.
set -eu
packages="g++ make libfcgi-dev nginx libsqlite3-dev sqlite3 nlohmann-json3-dev libboost-test-dev
libsodium-dev python3 curl ca-certificates openssl nodejs npm chromium"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "abri: these Debian packages are missing:$missing" >&2
        echo "abri: install them as root: apt-get install$missing" >&2
        exit 1
    fi
    echo "abri: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# Browser tests: playwright-core and axe-core, from the lock file.
browser=$(dirname "$0")/../../tests/browser
if [ -f "$browser/package-lock.json" ] && [ ! -d "$browser/node_modules" ]; then
    (cd "$browser" && npm ci --silent --no-audit --no-fund)
fi
exit 0
