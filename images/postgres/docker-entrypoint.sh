#!/bin/bash
# pojemnik db entrypoint.
#
# Least privilege: the superuser "postgres" has no password and logs in only on
# the container's own unix socket (peer: the container user is postgres), as
# `docker exec <db> psql` and `fab data.copy` do.  Over the network only role
# $DB_USER (default app), only to database $DB_NAME (default app), only from the
# subnets in $DB_ALLOWED_NETWORKS (the stack passes the isolated network's
# subnet), with scram-sha-256.  $DB_USER is NOSUPERUSER NOCREATEDB NOCREATEROLE
# NOREPLICATION NOBYPASSRLS and owns only $DB_NAME.
#
# On an empty $PGDATA (first start on a fresh volume):
#   * initdb (UTF8, C.UTF-8), superuser "postgres" without a password;
#   * listen_addresses='*', socket in /run/postgresql;
#   * role $DB_USER with the password from $POSTGRES_PASSWORD_FILE (default
#     /run/secrets/db_password, first line), database $DB_NAME owned by it, and
#     a sample table "notes" with a few rows.
# At every start (also on a volume initialised by an older image):
#   * pg_hba.conf is written from the environment (edits to it are lost);
#   * on a socket-only temporary server: the superuser's password is removed,
#     $DB_USER loses any superuser-like attribute, and a database other than
#     $DB_NAME owned by $DB_USER is reported (not changed).
# Changing the password file later does NOT change the password: use ALTER ROLE.
# Then exec postgres (PID 1).
set -Eeuo pipefail

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
PASSWORD_FILE="${POSTGRES_PASSWORD_FILE:-/run/secrets/db_password}"
DB_USER="${DB_USER:-app}"
DB_NAME="${DB_NAME:-app}"
DB_ALLOWED_NETWORKS="${DB_ALLOWED_NETWORKS:-}"
SOCKET_DIR=/run/postgresql
# The temporary server used for setup listens on its own socket directory only, so
# neither the healthcheck nor `docker exec <db> psql` mistakes it for the real one.
SETUP_SOCKET_DIR=$SOCKET_DIR/setup

log() { echo "db-entrypoint: $*" >&2; }

check_settings() {
    local name
    for name in DB_USER DB_NAME; do
        if [[ ! "${!name}" =~ ^[a-z_][a-z0-9_]*$ ]]; then
            log "$name=${!name} is not a plain lower-case identifier"
            exit 1
        fi
    done
    if [ "$DB_USER" = postgres ]; then
        log "DB_USER must not be the superuser postgres"
        exit 1
    fi
    local networks="${DB_ALLOWED_NETWORKS//,/ }" cidr
    if [ -z "${networks// /}" ]; then
        log "DB_ALLOWED_NETWORKS is not set: set it to the subnet(s) of the app containers" \
            "(e.g. 10.0.10.0/24); nobody could reach $DB_NAME over the network"
        exit 1
    fi
    for cidr in $networks; do
        if [[ ! "$cidr" =~ ^[0-9A-Fa-f.:]+/[0-9]{1,3}$ ]]; then
            log "DB_ALLOWED_NETWORKS: '$cidr' is not an address/prefix (e.g. 10.0.10.0/24)"
            exit 1
        fi
    done
    if [ ! -w "$SOCKET_DIR" ]; then
        log "$SOCKET_DIR is not writable (mount a tmpfs there)"
        exit 1
    fi
}

write_pg_hba() {
    local cidr
    {
        echo "# Written by the pojemnik db entrypoint at every start: edits here are lost."
        echo "# Nothing else is accepted: a connection no line matches is rejected."
        echo "# The superuser, only on this container's unix socket (docker exec <db> psql)."
        echo "local   all             postgres                                peer"
        echo "# The application's role, only to its database, only from the declared networks."
        for cidr in ${DB_ALLOWED_NETWORKS//,/ }; do
            printf 'host    %-15s %-15s %-23s scram-sha-256\n' "$DB_NAME" "$DB_USER" "$cidr"
        done
    } > "$PGDATA/pg_hba.conf.new"
    mv "$PGDATA/pg_hba.conf.new" "$PGDATA/pg_hba.conf"
}

start_setup_server() {
    install -d -m 0700 "$SETUP_SOCKET_DIR"
    pg_ctl --pgdata="$PGDATA" --wait --silent \
        -o "-c listen_addresses='' -c unix_socket_directories=$SETUP_SOCKET_DIR" start >&2
}

stop_setup_server() {
    pg_ctl --pgdata="$PGDATA" --wait --silent -m fast stop >&2
    rmdir "$SETUP_SOCKET_DIR" 2>/dev/null || true
}

setup_psql() {
    psql --no-psqlrc --quiet -v ON_ERROR_STOP=1 --host="$SETUP_SOCKET_DIR" \
        --username=postgres "$@"
}

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

    log "initialising a new cluster in $PGDATA"
    # No password for the superuser: it logs in only on the unix socket (peer).
    initdb --pgdata="$PGDATA" --username=postgres \
        --auth-local=peer --auth-host=reject \
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
    write_pg_hba
    start_setup_server

    # The password is read server-side with pg_read_file(), so it never
    # appears on a command line or in the environment.
    setup_psql --dbname=postgres \
        -v db_user="$DB_USER" -v db_name="$DB_NAME" -v pw_file="$PASSWORD_FILE" <<'EOSQL'
SELECT split_part(rtrim(pg_read_file(:'pw_file'), E'\r\n'), E'\n', 1) AS pw \gset
CREATE ROLE :"db_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'pw';
\unset pw
CREATE DATABASE :"db_name" OWNER :"db_user";
EOSQL

    setup_psql --dbname="$DB_NAME" -v db_user="$DB_USER" <<'EOSQL'
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
    log "initialisation done"
}

# Idempotent, at every start: a volume made by an older image (where the superuser
# had the app's password and pg_hba took every role from anywhere) is brought in line.
enforce_least_privilege() {
    setup_psql --dbname=postgres -v db_user="$DB_USER" -v db_name="$DB_NAME" <<'EOSQL'
SET pojemnik.db_user = :'db_user';
SET pojemnik.db_name = :'db_name';
DO $$
DECLARE
    app  text := current_setting('pojemnik.db_user');
    own  text := current_setting('pojemnik.db_name');
    r    record;
BEGIN
    IF (SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = 'postgres') THEN
        ALTER ROLE postgres PASSWORD NULL;
        RAISE WARNING 'removed the password of the superuser postgres (socket login only)';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = app) THEN
        RAISE WARNING 'role % does not exist', app;
        RETURN;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = app AND (rolsuper OR rolcreatedb
               OR rolcreaterole OR rolreplication OR rolbypassrls)) THEN
        EXECUTE format('ALTER ROLE %I NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION '
                       'NOBYPASSRLS', app);
        RAISE WARNING 'role % had superuser-like attributes: removed', app;
    END IF;
    FOR r IN SELECT g.rolname FROM pg_auth_members m
             JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
             WHERE u.rolname = app LOOP
        EXECUTE format('REVOKE %I FROM %I', r.rolname, app);
        RAISE WARNING 'role % was a member of %: revoked', app, r.rolname;
    END LOOP;
    FOR r IN SELECT datname FROM pg_database
             WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = app)
               AND datname <> own LOOP
        RAISE WARNING 'role % also owns database % (left as it is)', app, r.datname;
    END LOOP;
END
$$;
EOSQL
}

if [ "${1:-}" = postgres ]; then
    if [ "$(id -u)" = 0 ]; then
        log "must not run as root"
        exit 1
    fi
    check_settings
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        init_cluster
    else
        log "existing cluster in $PGDATA (PostgreSQL $(cat "$PGDATA/PG_VERSION"))"
        write_pg_hba
        start_setup_server
    fi
    enforce_least_privilege
    stop_setup_server
    log "pg_hba: superuser on the local socket only; $DB_USER to $DB_NAME from" \
        "${DB_ALLOWED_NETWORKS//,/ }"
fi

exec "$@"
