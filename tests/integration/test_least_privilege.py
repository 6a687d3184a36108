"""Least privilege in the example (issue #8 item 12), on a real deploy.

A compromised PHP or Django container holds the app's password and sits on the isolated
network beside the database. It must not become a database superuser (and, through
`COPY ... TO PROGRAM`, a shell in the db container): the superuser logs in only on the
db container's own unix socket, the app role reaches only its database and only from the
declared network. php-fpm answers the proxy only, not every container on its networks.

The "attacker" is the app container (python3 + psycopg2 are installed there); the php
container holds the same password and networks.
"""

from __future__ import annotations

import ipaddress
import json
import time

import docker
import pytest

from .conftest import Copy
from .test_deploy import get

pytestmark = pytest.mark.integration

CONNECT = r"""
import json, sys
import psycopg2
user, dbname, sql = sys.argv[1:4]
password = open("/run/secrets/db_password").readline().rstrip("\r\n")
try:
    conn = psycopg2.connect(host=sys.argv[4] if len(sys.argv) > 4 else "db", dbname=dbname,
                            user=user, password=password, connect_timeout=5)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(sql)
    rows = cur.fetchall() if cur.description else []
    print(json.dumps({"ok": True, "rows": rows}, default=str))
except Exception as error:
    print(json.dumps({"ok": False, "error": str(error).strip()}))
"""

# A minimal FastCGI request for php-fpm's ping.path (/ping answers "pong"), as the
# image's healthcheck sends it with cgi-fcgi; prints what came back.
FASTCGI = r"""
import json, socket, struct, sys

def record(kind, content):
    return struct.pack("!BBHHBx", 1, kind, 1, len(content), 0) + content

def pair(name, value):
    name, value = name.encode(), value.encode()
    return bytes([len(name), len(value)]) + name + value

params = b"".join(pair(k, v) for k, v in {
    "SCRIPT_NAME": "/ping", "SCRIPT_FILENAME": "/ping", "REQUEST_METHOD": "GET",
    "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1"}.items())
request = (record(1, struct.pack("!HB5x", 1, 0)) + record(4, params) + record(4, b"")
           + record(5, b""))
received, error = b"", ""
try:
    with socket.create_connection((sys.argv[1], 9000), timeout=10) as conn:
        conn.sendall(request)
        while chunk := conn.recv(65536):
            received += chunk
except OSError as exc:
    error = repr(exc)
print(json.dumps({"received": received.decode("latin-1"), "error": error}))
"""


def name(copy: Copy, service: str) -> str:
    return f"{copy.project}-{service}"


def run_json(client: docker.DockerClient, copy: Copy, service: str,
             command: list[str]) -> dict:
    result = client.containers.get(name(copy, service)).exec_run(command)
    assert result.exit_code == 0, result.output.decode(errors="replace")
    return dict(json.loads(result.output.decode().strip().splitlines()[-1]))


def sql_from_app(client: docker.DockerClient, copy: Copy, user: str, dbname: str,
                 sql: str = "SELECT 1") -> dict:
    """Log in to the database from the app container, with the app's password."""
    return run_json(client, copy, "app", ["python3", "-c", CONNECT, user, dbname, sql])


def db_exec(client: docker.DockerClient, copy: Copy, command: list[str] | str,
            ) -> tuple[int, str]:
    """Run in the db container as its default user (as `pojemnik data.copy` does)."""
    result = client.containers.get(name(copy, "db")).exec_run(command)
    return result.exit_code, result.output.decode(errors="replace")


def local_psql(client: docker.DockerClient, copy: Copy, sql: str, dbname: str = "app"
               ) -> str:
    code, output = db_exec(client, copy, ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", dbname,
                                          "-Atc", sql])
    assert code == 0, output
    return output.strip()


def address(client: docker.DockerClient, copy: Copy, service: str, network: str) -> str:
    networks = client.api.inspect_container(name(copy, service))["NetworkSettings"]["Networks"]
    return str(networks[f"{copy.project}-{network}"]["IPAddress"])


# --- PostgreSQL ---------------------------------------------------------------------


def test_superuser_cannot_log_in_over_the_network(client: docker.DockerClient,
                                                  deployed: Copy) -> None:
    for dbname in ("postgres", "app"):
        result = sql_from_app(client, deployed, "postgres", dbname,
                              "COPY (SELECT 1) TO PROGRAM 'true'")
        assert not result["ok"], f"postgres logged in over TCP to {dbname}: {result}"
        assert "pg_hba.conf" in result["error"], result


def test_app_role_works_and_has_no_special_attributes(client: docker.DockerClient,
                                                      deployed: Copy) -> None:
    result = sql_from_app(client, deployed, "app", "app",
                          "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, "
                          "rolbypassrls FROM pg_roles WHERE rolname = current_user")
    assert result == {"ok": True, "rows": [[False, False, False, False, False]]}


def test_app_role_cannot_run_programs(client: docker.DockerClient, deployed: Copy) -> None:
    result = sql_from_app(client, deployed, "app", "app", "COPY (SELECT 1) TO PROGRAM 'true'")
    assert not result["ok"], result
    assert "pg_execute_server_program" in result["error"] or "superuser" in result["error"]
    result = sql_from_app(client, deployed, "app", "app",
                          "SELECT pg_read_file('/run/secrets/db_password')")
    assert not result["ok"], "the app role reads server files"


def test_app_role_owns_only_its_database(client: docker.DockerClient, deployed: Copy) -> None:
    result = sql_from_app(client, deployed, "app", "app",
                          "SELECT datname FROM pg_database "
                          "WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)")
    assert result == {"ok": True, "rows": [["app"]]}
    for dbname in ("postgres", "template1"):
        result = sql_from_app(client, deployed, "app", dbname)
        assert not result["ok"], f"app logged in to {dbname}"
        assert "pg_hba.conf" in result["error"], result


def test_app_role_is_refused_from_an_undeclared_network(client: docker.DockerClient,
                                                        deployed: Copy) -> None:
    # The right password over TCP from 127.0.0.1 (inside the db container), which is not
    # in the declared isolated subnet.
    code, output = db_exec(client, deployed, [
        "sh", "-c", 'PGPASSWORD="$(head -n1 /run/secrets/db_password)" '
        'psql -X -h 127.0.0.1 -U app -d app -Atc "SELECT 1"'])
    assert code != 0, f"app logged in from 127.0.0.1: {output}"
    assert "pg_hba.conf" in output, output


def test_pg_hba_follows_the_declared_subnet(client: docker.DockerClient,
                                           deployed: Copy) -> None:
    hba = local_psql(client, deployed, "SELECT type, database, user_name, address, netmask, "
                     "auth_method FROM pg_hba_file_rules ORDER BY line_number", "postgres")
    subnet = ipaddress.ip_network(deployed.isolated)
    assert hba.splitlines() == [
        "local|{all}|{postgres}|||peer",
        f"host|{{app}}|{{app}}|{subnet.network_address}|{subnet.netmask}|scram-sha-256",
    ], hba


def test_superuser_works_on_the_local_socket(client: docker.DockerClient,
                                            deployed: Copy) -> None:
    # What `fab data.copy` runs: psql in the db container as its default user, no -U/-h.
    assert local_psql(client, deployed, "SELECT current_user, rolsuper FROM pg_roles "
                      "WHERE rolname = current_user", "postgres") == "postgres|t"
    assert local_psql(client, deployed, "SELECT pg_get_userbyid(datdba) FROM pg_database "
                      "WHERE datname = current_database()") == "app"


# --- php-fpm ------------------------------------------------------------------------


def test_php_fpm_answers_only_the_proxy(client: docker.DockerClient, deployed: Copy) -> None:
    for network in ("services", "isolated"):
        target = address(client, deployed, "php", network)
        result = run_json(client, deployed, "app", ["python3", "-c", FASTCGI, target])
        assert result["received"] == "", f"php-fpm answered the app container on {network}"
    logs = client.api.logs(name(deployed, "php"), tail=50).decode(errors="replace")
    assert f"IP address '{address(client, deployed, 'app', 'services')}' has been dropped" \
        in logs, logs
    status, body = get(deployed, "php.localhost")
    assert status == 200 and "database: ok" in body, body


# --- an existing volume from the old images -----------------------------------------


def wait_healthy(client: docker.DockerClient, container: str) -> None:
    deadline = time.monotonic() + 300  # a bound on the wait, not a timing assertion
    while time.monotonic() < deadline:
        state = client.api.inspect_container(container)["State"]
        if (state.get("Health") or {}).get("Status") == "healthy":
            return
        time.sleep(1)
    raise AssertionError(f"{container} did not become healthy: {state}")


def test_old_scheme_volume_is_brought_in_line_at_start(client: docker.DockerClient,
                                                       deployed: Copy) -> None:
    # What a volume initialised by the old image looks like (and worse): the superuser
    # has the app's password, pg_hba takes every role from anywhere, app is a superuser.
    local_psql(client, deployed, "ALTER ROLE app SUPERUSER CREATEROLE CREATEDB", "postgres")
    local_psql(client, deployed, "DO $$ BEGIN EXECUTE format('ALTER ROLE postgres PASSWORD %L', "
               "split_part(pg_read_file('/run/secrets/db_password'), E'\\n', 1)); END $$",
               "postgres")
    code, output = db_exec(client, deployed, [
        "sh", "-c", 'echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"'])
    assert code == 0, output

    db = name(deployed, "db")
    client.api.restart(db)
    wait_healthy(client, db)

    assert local_psql(client, deployed, "SELECT rolsuper, rolcreaterole, rolcreatedb "
                      "FROM pg_roles WHERE rolname = 'app'") == "f|f|f"
    assert local_psql(client, deployed, "SELECT rolpassword IS NULL FROM pg_authid "
                      "WHERE rolname = 'postgres'") == "t"
    assert "host all all all" not in db_exec(client, deployed,
                                             ["sh", "-c", 'cat "$PGDATA/pg_hba.conf"'])[1]
    result = sql_from_app(client, deployed, "postgres", "postgres")
    assert not result["ok"], result
    status, body = get(deployed, "php.localhost")
    assert status == 200 and "database: ok" in body, body
