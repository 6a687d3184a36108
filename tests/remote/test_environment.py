"""The remote test environment itself works: logins, the inner engine, sample data, database."""

from __future__ import annotations

import dataclasses
import ipaddress
import shutil
import subprocess
from pathlib import Path

import paramiko
import pytest

from . import sample
from .hosts import (
    BASE_IMAGE,
    RemoteEnv,
    RemoteHost,
    generate_keypair,
    known_hosts_line,
    push_image,
    quote,
)

pytestmark = pytest.mark.remote

INNER_SUBNET = "172.31.250.0/24"  # inside server's own engine, so no clash with the machine
INNER_IP = "172.31.250.10"
INNER_PORT = 18080
# A TCP server that needs nothing but debian:bookworm-slim (perl-base is essential).
PERL_SERVER = ("use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => '0.0.0.0', "
               "LocalPort => 8080, Listen => 5, ReuseAddr => 1) or die $!; "
               "while (my $c = $s->accept) { print $c \"pojemnik-ok\\n\"; close $c }")


def tcp_read(address: str, port: int) -> str:
    """Shell: connect, print the first line the peer sends (bash /dev/tcp, no other tool)."""
    return f"timeout 5 bash -c {quote(f'exec 3<>/dev/tcp/{address}/{port}; head -n 1 <&3')}"


# --- SSH -----------------------------------------------------------------------------------

@pytest.mark.parametrize("login", ["deploy@server", "root@server", "root@old-server",
                                   "deploy@old-server", "postgres@old-server"])
def test_key_login_checks_known_hosts(remote_env: RemoteEnv, login: str) -> None:
    user, service = login.split("@")
    host = {"server": remote_env.server, "old-server": remote_env.old_server}[service]
    host = host.as_user(user)
    assert host.host == "127.0.0.1" and host.port > 0
    assert host.run("whoami").text.strip() == user
    assert host.run("hostname").text.strip() == service


def test_wrong_or_missing_host_key_is_rejected(server: RemoteHost, tmp_path: Path) -> None:
    other = generate_keypair(tmp_path, "other").public_line
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(known_hosts_line(server.host, server.port, other) + "\n")
    with pytest.raises(paramiko.BadHostKeyException):
        dataclasses.replace(server, known_hosts_path=wrong).connect()
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        dataclasses.replace(server, known_hosts_path=empty).connect()


def test_only_public_keys_are_accepted(server: RemoteHost, tmp_path: Path) -> None:
    transport = paramiko.Transport((server.host, server.port))
    try:
        transport.start_client(timeout=15)
        offered = transport.get_remote_server_key()
        assert f"{offered.get_name()} {offered.get_base64()}" == server.host_key
        with pytest.raises(paramiko.BadAuthenticationType) as refused:
            transport.auth_none(server.user)
        assert refused.value.allowed_types == ["publickey"]
    finally:
        transport.close()
    stranger = generate_keypair(tmp_path, "stranger").private_path
    with pytest.raises(paramiko.AuthenticationException):
        dataclasses.replace(server, key_path=stranger).connect()


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client on this machine")
def test_openssh_client_with_known_hosts_and_ssh_config(remote_env: RemoteEnv) -> None:
    argv = remote_env.server.ssh_argv("whoami")
    assert subprocess.run(argv, capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip() == "deploy"
    result = subprocess.run(["ssh", "-F", str(remote_env.ssh_config_path),
                             "pjremote-old-server-postgres", "whoami"],
                            capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "postgres"


def test_fabric_connection(server: RemoteHost) -> None:
    with server.fabric_connection() as connection:
        assert connection.run("whoami", hide=True).stdout.strip() == "deploy"


# --- server: its own Docker engine ---------------------------------------------------------

def test_server_docker_as_deploy(server: RemoteHost) -> None:
    assert "docker" in server.run("id -nG").text.split()
    info = server.run("docker info --format '{{.ServerVersion}} {{.Driver}}'").text.split()
    assert info[0].startswith("20.10")
    assert server.run("sudo -n true").returncode == 0


def test_server_runs_loaded_image_with_network_and_published_port(server: RemoteHost) -> None:
    loaded = push_image(server, BASE_IMAGE)
    assert BASE_IMAGE in loaded.text
    assert server.run(f"docker run --rm {BASE_IMAGE} cat /etc/debian_version").text.strip()

    cleanup = "docker rm -f pjenv-web >/dev/null 2>&1; docker network rm pjenv-net >/dev/null 2>&1"
    server.run(cleanup, check=False)
    try:
        server.run(f"docker network create --subnet {INNER_SUBNET} pjenv-net")
        server.run(f"docker run -d --name pjenv-web --network pjenv-net --ip {INNER_IP} "
                   f"-p 127.0.0.1:{INNER_PORT}:8080 {BASE_IMAGE} perl -e {quote(PERL_SERVER)}")
        # The published port, from the server itself (retried while the server starts).
        published = server.run(f"for i in $(seq 50); do {tcp_read('127.0.0.1', INNER_PORT)} "
                               "&& exit 0; sleep 0.2; done; exit 1")
        assert published.text.strip() == "pojemnik-ok"
        # The fixed address, from another container on the same network.
        inner = server.run(f"docker run --rm --network pjenv-net {BASE_IMAGE} "
                           f"{tcp_read(INNER_IP, 8080)}")
        assert inner.text.strip() == "pojemnik-ok"
        subnet = server.run("docker network inspect pjenv-net "
                            "--format '{{range .IPAM.Config}}{{.Subnet}}{{end}}'").text.strip()
        assert subnet == INNER_SUBNET
    finally:
        server.run(cleanup, check=False)


def test_server_firewall_tools(server_root: RemoteHost) -> None:
    server_root.run("nft add table inet pjenv_probe && "
                    "nft add chain inet pjenv_probe input '{ type filter hook input priority 0; }'")
    try:
        assert "pjenv_probe" in server_root.run("nft list tables").text
    finally:
        server_root.run("nft delete table inet pjenv_probe", check=False)
    assert server_root.run("iptables -S").returncode == 0


def test_hosts_reach_each_other_by_name(server: RemoteHost, old_server: RemoteHost,
                                        remote_env: RemoteEnv) -> None:
    resolved = server.run("getent hosts old-server").text.split()[0]
    assert resolved == old_server.network_address
    assert server.run(tcp_read("old-server", 22)).text.startswith("SSH-2.0-")
    assert old_server.run(tcp_read("server", 22)).text.startswith("SSH-2.0-")
    # PostgreSQL is for old-server's own 127.0.0.1 only.
    assert server.run(tcp_read("old-server", 5432), check=False).returncode != 0
    subnet = ipaddress.ip_network(remote_env.subnet)
    assert ipaddress.ip_address(server.network_address) in subnet


# --- old-server: sample files and database -------------------------------------------------

def test_old_server_sample_files(old_server: RemoteHost) -> None:
    paths = list(sample.SAMPLE_ENTRIES)
    stat = old_server.run(f"cd {sample.SAMPLE_ROOT} && stat -c '%F|%u:%g|%a|%h|%i|%s|%Y|%n' "
                          f"-- {quote(*paths)}").text
    rows = {line.split("|")[-1]: line.split("|") for line in stat.splitlines()}
    kinds = {"regular file": "f", "regular empty file": "f", "directory": "d",
             "symbolic link": "l"}
    for path, entry in sample.SAMPLE_ENTRIES.items():
        kind, owner, mode, _, _, _, _, _ = rows[path]
        assert (kinds[kind], owner, mode) == (entry.kind, entry.owner, entry.mode), path

    first, second = sample.HARDLINK_PAIR
    assert rows[first][4] == rows[second][4] and rows[first][3] == "2"
    assert rows[sample.BIG_FILE[0]][5] == str(sample.BIG_FILE[1])
    assert rows[sample.OLD_MTIME[0]][6] == str(sample.OLD_MTIME[1])

    link, target = sample.SYMLINK
    root = sample.SAMPLE_ROOT
    assert old_server.run(f"readlink {root}/{link}").text.strip() == target
    path, name, value = sample.XATTR
    assert old_server.run(f"getfattr --only-values -n {name} {root}/{path}").text == value
    path, acl_entry = sample.ACL
    assert acl_entry in old_server.run(f"getfacl -n -p {root}/{path}").text.split()
    assert sample.UNICODE_NAME in old_server.run(f"ls {root}").text.splitlines()


def test_manifest_tool_on_both_hosts(old_server: RemoteHost, server_root: RemoteHost) -> None:
    manifest = old_server.run(f"pjremote-manifest {sample.SAMPLE_ROOT}").text
    assert "## sha256" in manifest and f"./{sample.UNICODE_NAME}" in manifest
    assert 'user.comment="pojemnik sample"' in manifest and "user:1002:r--" in manifest
    assert server_root.run("pjremote-manifest /srv").returncode == 0


def test_old_server_database(old_server: RemoteHost) -> None:
    postgres = old_server.as_user("postgres")
    for table, rows in sample.TABLE_ROWS.items():
        count = postgres.run(f"psql -d {sample.DATABASE} -tAc 'SELECT count(*) FROM {table}'")
        assert int(count.text) == rows
    # As root, the way a copy would run it.
    digest = old_server.run(f"cd / && runuser -u postgres -- psql -d {sample.DATABASE} -tA "
                            f"-c {quote(sample.NOTES_DIGEST_SQL)}").text.strip()
    assert len(digest) == 32
    dump = postgres.run(f"pg_dump -Fc {sample.DATABASE}")
    assert dump.stdout.startswith(b"PGDMP") and len(dump.stdout) > 10_000
    listening = old_server.run("ss -Hltn 'sport = :5432'").text.split("\n")
    assert all("127.0.0.1:5432" in line for line in listening if line.strip())
