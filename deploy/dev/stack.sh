#!/bin/bash
# Starts abri on loopback for development and tests: nginx with the shared
# configuration of deploy/nginx/ plus every FastCGI program on its unix
# socket, restarted if it dies. Stops everything on Ctrl-C or SIGTERM.
#
#   PORT=8080 BIN=bin ABRI_DB=var/db/abri.db deploy/dev/stack.sh [--demo]
#
# PREFIX (default var/run-$PORT) holds the generated configuration, the
# sockets (run/), nginx's logs (log/) and temporary files. --demo fills a
# new database with demo units, routes and one operator whose password is
# printed and kept in $(dirname $ABRI_DB)/demo-operator.txt.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${PORT:-8080}
BIN=${BIN:-$root/bin}
ABRI_DB=${ABRI_DB:-$root/var/db/abri.db}
PREFIX=${PREFIX:-$root/var/run-$PORT}
WWW=${WWW:-$root/www}
export ABRI_DB
demo=0
[ "${1:-}" = "--demo" ] && demo=1

say() { printf 'abri: %s\n' "$*"; }
die() { printf 'abri: %s\n' "$*" >&2; exit 1; }

command -v nginx >/dev/null || die "nginx is missing: run 'make deps' (as root) first"
[ -x "$BIN/session" ] || die "$BIN/session is missing: run 'make' first"

mkdir -p "$PREFIX"/{conf,run,log,tmp,admin} "$(dirname "$ABRI_DB")"
chmod 700 "$(dirname "$ABRI_DB")"
# The administrator's server listens in admin/ (abri-http.conf): only its
# owner may enter, as /run/abri-admin in production.
chmod 700 "$PREFIX/admin"

# The sockets are 0660 (see lib/server.cpp). As root, nginx's workers run
# as www-data, and the set-group-id run/ gives each socket that group: only
# nginx and the programs can reach them.
nginx_user=""
if [ "$(id -u)" = 0 ] && getent group www-data >/dev/null; then
    chgrp www-data "$PREFIX/run"
    chmod 2750 "$PREFIX/run"
    if runuser -u www-data -- test -x "$PREFIX/run" -a -r "$WWW/index.html" 2>/dev/null; then
        nginx_user="user www-data www-data;"
    else
        # A checkout under a private directory: www-data cannot reach it.
        say "note: www-data cannot reach $PREFIX or $WWW; nginx's workers run as root"
        nginx_user="user root root;"
    fi
fi

subst() {
    sed -e "s|@RUN@|$PREFIX/run|g" -e "s|@ADMIN@|$PREFIX/admin|g" -e "s|@WWW@|$WWW|g" -e "s|@CONF@|$PREFIX/conf|g" \
        -e "s|@PREFIX@|$PREFIX|g" -e "s|@PORT@|$PORT|g" -e "s|@USER@|$nginx_user|g" "$1" >"$2"
}
subst "$root/deploy/nginx/abri-http.conf.in" "$PREFIX/conf/abri-http.conf"
# Tests open many sessions and log in many times from one address: they
# may raise the rates (LOGIN_RATE defaults to SESSION_RATE).
[ -n "${SESSION_RATE:-}" ] && sed -i "s|rate=5r/s|rate=$SESSION_RATE|" "$PREFIX/conf/abri-http.conf"
LOGIN_RATE=${LOGIN_RATE:-${SESSION_RATE:-}}
[ -n "$LOGIN_RATE" ] && sed -i "s|rate=30r/m|rate=$LOGIN_RATE|" "$PREFIX/conf/abri-http.conf"
subst "$root/deploy/nginx/abri-locations.conf.in" "$PREFIX/conf/abri-locations.conf"
cp "$root/deploy/nginx/abri-fastcgi-params.conf" "$PREFIX/conf/"
subst "$root/deploy/nginx/dev.conf.in" "$PREFIX/conf/nginx.conf"

fresh=0
[ -e "$ABRI_DB" ] || fresh=1
"$BIN/abrictl" init
credentials="$(dirname "$ABRI_DB")/demo-operator.txt"
if [ "$demo" = 1 ] && [ "$fresh" = 1 ]; then
    ctl() { "$BIN/abrictl" "$@" >/dev/null; }
    ctl unit add GN-NUM --name "Gendarmerie nationale — brigade numérique" --kind gendarmerie
    ctl unit add PP-75 --name "Préfecture de police de Paris" --kind police
    ctl unit add DDSP-13 --name "Police nationale — Bouches-du-Rhône" --kind police
    ctl unit add GN-2A --name "Gendarmerie — Corse-du-Sud" --kind gendarmerie
    ctl unit add GN-974 --name "Gendarmerie — La Réunion" --kind gendarmerie
    ctl route default GN-NUM
    for key in 75 92 93 94; do ctl route add "$key" PP-75; done
    ctl route add 13 DDSP-13
    ctl route add 2A GN-2A
    ctl route add 974 GN-974
    # Canned replies: real national referrals, and a word for those who
    # write in another language. Every unit gets them.
    referral_3919="Violences Femmes Info : appelez le 3919. Gratuit et anonyme, 24 h/24 et 7 j/7. Écoute, information et orientation pour les femmes victimes de violences et leurs proches. Le numéro n'apparaît pas sur les factures."
    referral_116006="France Victimes : appelez le 116 006, numéro national d'aide aux victimes, gratuit, 7 j/7 de 9 h à 19 h. Une association près de chez vous peut vous accompagner (écoute, droits, démarches, plainte)."
    referral_114="Si vous ne pouvez pas parler sans danger : envoyez un SMS au 114. Gratuit, 24 h/24 : on vous répond par écrit et on envoie les secours si besoin."
    referral_17="En danger immédiat : appelez le 17 (police secours) ou le 112 (numéro d'urgence européen). Gratuits, 24 h/24, même sans crédit."
    translator="Nous répondons en français ; vous pouvez utiliser un traducteur.
We answer in French; you may use a translator.
نجيب باللغة الفرنسية؛ يمكنك استخدام مترجم.
Respondemos en francés; puede usar un traductor.
Respondemos em francês; pode usar um tradutor.
Fransızca yanıt veriyoruz; bir çeviri aracı kullanabilirsiniz.
Răspundem în limba franceză; puteți folosi un traducător.
Мы отвечаем на французском языке; вы можете воспользоваться переводчиком.
Ми відповідаємо французькою мовою; ви можете скористатися перекладачем.
我们用法语回复；您可以使用翻译工具。"
    for unit in GN-NUM PP-75 DDSP-13 GN-2A GN-974; do
        printf '%s\n' "$referral_3919" | ctl reply add "$unit" --title "3919 — Violences Femmes Info"
        printf '%s\n' "$referral_116006" | ctl reply add "$unit" --title "116 006 — France Victimes"
        printf '%s\n' "$referral_114" | ctl reply add "$unit" --title "SMS 114 — ne pas parler"
        printf '%s\n' "$referral_17" | ctl reply add "$unit" --title "17 / 112 — danger immédiat"
        printf '%s\n' "$translator" | ctl reply add "$unit" --title "Traducteur — 10 langues"
    done
    if [ -x "$BIN/agent" ]; then
        password=$(head -c 12 /dev/urandom | base64 | tr -d '/+=')
        printf '%s\n' "$password" | "$BIN/abrictl" agent add demo --unit GN-NUM --unit PP-75 --unit DDSP-13 \
            --unit GN-2A --unit GN-974 >/dev/null
        (umask 077 && printf 'username=demo\npassword=%s\n' "$password" >"$credentials")
    fi
    say "demo database created: 5 units, routes for 75 92 93 94 13 2A 974, the rest to GN-NUM"
fi

children=()
stop() {
    trap - INT TERM EXIT
    for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    exit 0
}
trap stop INT TERM EXIT

# A program that dies is started again (libfcgi aborts on some crafted
# records: see FIELD-NOTES); one second apart so a crash loop stays visible.
supervise() {
    local name=$1
    while true; do
        "$BIN/$name" --socket "$PREFIX/run/$name.sock" &
        local pid=$!
        trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' TERM
        wait $pid || true
        say "$name stopped (status $?); starting it again"
        sleep 1
    done
}
for name in session messages agent admin; do
    [ -x "$BIN/$name" ] || continue
    supervise "$name" &
    children+=($!)
done

nginx -p "$PREFIX" -c "$PREFIX/conf/nginx.conf" -e "$PREFIX/log/error.log" &
children+=($!)

# Ready when every program answers for itself: nginx answers 5xx for one
# not listening yet. The others' requests are ones they refuse (401, 405).
answers() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$1") && [ "${code#5}" = "$code" ]
}
admin_answers() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$PREFIX/admin/admin.sock" "http://localhost$1") &&
        [ "${code#5}" = "$code" ]
}
ready() {
    answers /api/health &&
        { [ ! -x "$BIN/messages" ] || answers /api/messages; } &&
        { [ ! -x "$BIN/agent" ] || answers /api/agent/me; } &&
        { [ ! -x "$BIN/admin" ] || admin_answers /api/admin/purge; }
}
for _ in $(seq 100); do
    ready && break
    sleep 0.1
done
ready || die "the stack did not answer on port $PORT (see $PREFIX/log)"

say "ready on http://127.0.0.1:$PORT/"
say "  victims' page:   http://127.0.0.1:$PORT/"
[ -x "$BIN/agent" ] && say "  operators:       http://127.0.0.1:$PORT/agent/"
[ -f "$credentials" ] && say "  demo operator:   $(tr '\n' ' ' <"$credentials")"
say "  database:        $ABRI_DB"
[ -x "$BIN/admin" ] && say "  admin (purge):   curl --unix-socket $PREFIX/admin/admin.sock -X POST -H 'Content-Type: application/json' -d '{}' http://localhost/api/admin/purge"
say "Ctrl-C stops everything."
wait
