#!/bin/bash
# pojemnik db entrypoint.
#
# On an empty $PGDATA (first start on a fresh volume):
#   * initdb (UTF8, C.UTF-8), superuser "postgres" with the password from
#     $POSTGRES_PASSWORD_FILE (default /run/secrets/db_password, first line);
#   * listen_addresses='*', socket in /run/postgresql, scram-sha-256 for every
#     TCP client (pg_hba "host all all all"), peer auth on the local socket;
#   * role $DB_USER (default app) with the same password, database $DB_NAME
#     (default app) owned by it, and a sample table "notes" with a few rows.
# On an existing data directory nothing is changed (changing the password
# file later does NOT change the passwords: use ALTER ROLE).
# Then exec postgres (PID 1).
set -Eeuo pipefail

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
PASSWORD_FILE="${POSTGRES_PASSWORD_FILE:-/run/secrets/db_password}"
DB_USER="${DB_USER:-app}"
DB_NAME="${DB_NAME:-app}"
SOCKET_DIR=/run/postgresql

log() { echo "db-entrypoint: $*" >&2; }

init_cluster() {
    if [ ! -r "$PASSWORD_FILE" ] || [ ! -s "$PASSWORD_FILE" ]; then
        log "password file $PASSWORD_FILE is missing, empty or unreadable;" \
            "mount the secret there (or set POSTGRES_PASSWORD_FILE)"
        exit 1
    fi
    if [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
        log "$PGDATA is not empty but has no PG_VERSION; refusing to initialise it"
        exit 1
    fi
    if [ ! -w "$SOCKET_DIR" ]; then
        log "$SOCKET_DIR is not writable (mount a tmpfs there)"
        exit 1
    fi

    log "initialising a new cluster in $PGDATA"
    initdb --pgdata="$PGDATA" --username=postgres --pwfile="$PASSWORD_FILE" \
        --auth-local=peer --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >&2

    cat >> "$PGDATA/postgresql.conf" <<EOCONF

# --- pojemnik container settings ---
listen_addresses = '*'
port = 5432
unix_socket_directories = '$SOCKET_DIR'
password_encryption = scram-sha-256
max_connections = 50
shared_buffers = 64MB
log_timezone = 'UTC'
timezone = 'UTC'
EOCONF
    cat >> "$PGDATA/pg_hba.conf" <<'EOHBA'

# pojemnik: clients on the container networks (no fixed subnet), password only
host    all             all             all                     scram-sha-256
EOHBA

    # temporary server reachable only through the unix socket
    pg_ctl --pgdata="$PGDATA" --wait --silent \
        -o "-c listen_addresses='' -c unix_socket_directories=$SOCKET_DIR" start >&2

    local psql=(psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host="$SOCKET_DIR" --username=postgres)

    # The password is read server-side with pg_read_file(), so it never
    # appears on a command line or in the environment.
    "${psql[@]}" --dbname=postgres \
        -v db_user="$DB_USER" -v db_name="$DB_NAME" -v pw_file="$PASSWORD_FILE" <<'EOSQL'
SELECT split_part(rtrim(pg_read_file(:'pw_file'), E'\r\n'), E'\n', 1) AS pw \gset
CREATE ROLE :"db_user" LOGIN PASSWORD :'pw';
\unset pw
CREATE DATABASE :"db_name" OWNER :"db_user";
EOSQL

    "${psql[@]}" --dbname="$DB_NAME" -v db_user="$DB_USER" <<'EOSQL'
SET ROLE :"db_user";
CREATE TABLE notes (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO notes (title) VALUES
    ('Moved the server to Docker'),
    ('Every service runs in its own container'),
    ('The database lives on an internal network');
RESET ROLE;
EOSQL

    pg_ctl --pgdata="$PGDATA" --wait --silent -m fast stop >&2
    log "initialisation done"
}

if [ "${1:-}" = postgres ]; then
    if [ "$(id -u)" = 0 ]; then
        log "must not run as root"
        exit 1
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        init_cluster
    else
        log "existing cluster in $PGDATA (PostgreSQL $(cat "$PGDATA/PG_VERSION")), not changing it"
    fi
fi

exec "$@"
