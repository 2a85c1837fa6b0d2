#!/usr/bin/env bash
# Stops the PostgreSQL started by scripts/pg-start.sh.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
su postgres -c "$PGBIN/pg_ctl -D ${PANORAMA_PGDATA:-/tmp/panorama-pgdata} -m fast stop" || true
