#!/bin/sh
# Installs the Debian packages abri needs, when they are missing.
#   deps.sh        to build, run and test: run by `make run` and `make test`
#   deps.sh fuzz   to build and run the libFuzzer targets with clang 14:
#                  run by `make fuzz` (tests/fuzz/fuzz.mk)
#   deps.sh build  only the libraries the programs are built with (`make
#                  fuzz` with a FUZZ_CXX of one's own)
set -eu
what=${1:-all}
case "$what" in
all|fuzz|build) ;;
*) echo "usage: deps.sh [fuzz|build]" >&2; exit 2 ;;
esac
missing=""
# Libraries and servers: by package.
has() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || missing="$missing $1"; }
# Tools: by command, since a machine may have them from elsewhere (a newer
# Node.js with its own npm conflicts with Debian's npm package).
need() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }
for p in libfcgi-dev libsqlite3-dev nlohmann-json3-dev libsodium-dev; do has "$p"; done
need make make
case "$what" in
all)
    # fonts-wqy-microhei: the browser tests screenshot the Chinese page.
    for p in libboost-test-dev nginx sqlite3 ca-certificates chromium fonts-wqy-microhei fcgiwrap; do has "$p"; done
    need g++ g++
    need python3 python3
    need curl curl
    need openssl openssl
    need node nodejs
    need npm npm
    need systemd-analyze systemd
    ;;
fuzz)
    # The compiler by command; libFuzzer and the sanitizers' runtime, which
    # clang-14 does not pull in, by package.
    need clang++-14 clang-14
    has libclang-rt-14-dev
    ;;
esac
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
if [ "$what" = all ] && [ -f "$browser/package-lock.json" ] && [ ! -d "$browser/node_modules" ]; then
    (cd "$browser" && npm ci --silent --no-audit --no-fund)
fi
exit 0
