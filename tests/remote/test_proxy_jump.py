"""`fab -S ssh_config -H alias ps` where the alias reaches server through old-server
(ProxyJump): the jump host's key is checked like any other."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import FAB, REPO, Deployment
from .hosts import RemoteHost, known_hosts_line

pytestmark = pytest.mark.remote


@pytest.fixture(scope="module")
def deployment(bare_deployment: Deployment) -> Deployment:
    """The project's settings only: these tests need the server's engine, not the stack."""
    return bare_deployment


def jump_config(server: RemoteHost, old_server: RemoteHost) -> str:
    """server by its name on the hosts' network, reached from old-server."""
    return (f"Host pjremote-jump\n  HostName {old_server.host}\n  Port {old_server.port}\n"
            f"  User {old_server.user}\n  IdentityFile {old_server.key_path}\n\n"
            f"Host pjremote-behind-jump\n  HostName {server.name}\n  Port 22\n"
            f"  User {server.user}\n  IdentityFile {server.key_path}\n"
            "  ProxyJump pjremote-jump\n")


def fab_ps(deployment: Deployment, config: Path, known: Path,
           server: RemoteHost) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FAB, "-S", str(config), "-H", "pjremote-behind-jump", "-i", str(server.key_path),
         "ps"], cwd=REPO, text=True, capture_output=True, timeout=300,
        env={**deployment.env, "POJEMNIK_KNOWN_HOSTS": str(known)})


def test_a_jump_host_with_an_unknown_key_is_refused(deployment: Deployment,
                                                    server: RemoteHost,
                                                    old_server: RemoteHost,
                                                    tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(jump_config(server, old_server))
    known = tmp_path / "known_hosts"
    server_line = known_hosts_line(server.name, 22, server.host_key)
    known.write_text(f"{server_line}\n")  # the target is known, the jump host is not
    refused = fab_ps(deployment, config, known, server)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert "jump host (ProxyJump)" in output and "unknown host key" in output, output
    assert f"[{old_server.host}]:{old_server.port} is not in" in output, output
    assert "Traceback" not in output
    assert known.read_text() == f"{server_line}\n"

    jump_line = known_hosts_line(old_server.host, old_server.port, old_server.host_key)
    known.write_text(f"{server_line}\n{jump_line}\n")
    accepted = fab_ps(deployment, config, known, server)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "deploy@server:22" in accepted.stdout + accepted.stderr  # reached, through the jump
