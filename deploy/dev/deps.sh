#!/bin/sh
# Installs the Debian packages abri needs to build, run and test, when
# they are missing. Run by `make run` and `make test`.
set -eu
missing=""
# Libraries and servers: by package.
for p in libfcgi-dev libsqlite3-dev nlohmann-json3-dev libboost-test-dev libsodium-dev nginx sqlite3 \
         ca-certificates chromium fcgiwrap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
# Tools: by command, since a machine may have them from elsewhere (a newer
# Node.js with its own npm conflicts with Debian's npm package).
need() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }
need g++ g++
need make make
need python3 python3
need curl curl
need openssl openssl
need node nodejs
need npm npm
need systemd-analyze systemd
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
