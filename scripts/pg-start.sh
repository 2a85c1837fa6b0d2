#!/usr/bin/env bash
# Starts a throwaway PostgreSQL (Debian's package) on 127.0.0.1 for tests and
# prints the DATABASE_URL to use. Installs the package when it is missing.
# Usage: eval "$(scripts/pg-start.sh)"     Stop: scripts/pg-stop.sh
set -euo pipefail
PORT=${PANORAMA_PG_PORT:-54329}
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGDATA=${PANORAMA_PGDATA:-/tmp/panorama-pgdata}
if ! su postgres -c "$PGBIN/pg_ctl -D $PGDATA status" >/dev/null 2>&1; then
  rm -rf "$PGDATA" && mkdir -p "$PGDATA" && chown postgres "$PGDATA"
  su postgres -c "$PGBIN/initdb -D $PGDATA -A trust -U postgres" >/dev/null
  su postgres -c "$PGBIN/pg_ctl -D $PGDATA -l $PGDATA/log -o '-c listen_addresses=127.0.0.1 -p $PORT -k /tmp -c fsync=off -c max_connections=200' -w start" >&2
fi
psql -h 127.0.0.1 -p "$PORT" -U postgres -tc "select 1 from pg_database where datname='panorama_test'" | grep -q 1 \
  || psql -h 127.0.0.1 -p "$PORT" -U postgres -qc 'create database panorama_test' >&2
echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/panorama_test"
