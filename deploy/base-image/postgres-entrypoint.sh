#!/bin/bash
# First start: initdb with POSTGRES_USER/POSTGRES_PASSWORD, create POSTGRES_DB, run the init
# scripts without listening on TCP; every start: exec postgres with the given arguments.
set -euo pipefail
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [[ ${1:-} == postgres ]]; then shift; fi

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    pwfile=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start >/dev/null
    if [[ $db != postgres ]]; then
        psql -v ON_ERROR_STOP=1 -h /tmp -U "$user" -d postgres -v db="$db" <<<'CREATE DATABASE :"db";'
    fi
    for script in /docker-entrypoint-initdb.d/*.sql; do
        [[ -e $script ]] || continue
        echo "running $script"
        psql -v ON_ERROR_STOP=1 -h /tmp -U "$user" -d "$db" -f "$script"
    done
    pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
    echo "initialized $PGDATA"
fi
exec postgres -D "$PGDATA" "$@"
