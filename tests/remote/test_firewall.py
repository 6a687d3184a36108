"""`fab -H root@server firewall.*` against the test server (its own network namespace: the
rules never touch the machine running the tests), with the example stack deployed there.

Reachability is checked with real TCP connects from old-server, another host on the test
hosts' network ("outside"), each checked reachable before the firewall is applied, so every
"blocked" below is the firewall's doing. The test network has no internet: "the server still
reaches its package mirror" is checked as outbound traffic from the server (and from a
container) to old-server, and name resolution as the server resolving `old-server`.

The tests run in file order and share the server: plan, apply, re-apply, drift, rollback,
a dockerd restart from a blank state (as after a reboot: only the persisted files remain;
the test server restarts dockerd and runs the hook a systemd ExecStartPost would run), then
a declaration that locks SSH out. The fixture removes the rules,
files, container and listener it made.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .conftest import REPO, Deployment
from .hosts import BASE_IMAGE, RemoteHost, quote
from .test_remote_deploy import get

pytestmark = pytest.mark.remote

UNDECLARED_PORT = 29090  # published by a container outside the stack, on 0.0.0.0
HOST_PORT = 29191  # a service on the server itself, not declared public
PERL_SERVER = ("use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => '0.0.0.0', "
               "LocalPort => $ARGV[0], Listen => 5, ReuseAddr => 1) or die $!; "
               "while (my $c = $s->accept) { print $c \"pojemnik-ok\\n\"; close $c }")
TIMEOUT = "20"  # the dead-man restore's timeout in these tests (seconds)
CLEANUP = """
for ipt in iptables ip6tables; do
  $ipt -w -D INPUT -j POJEMNIK-INPUT 2>/dev/null
  while $ipt -w -D DOCKER-USER -j POJEMNIK-DOCKER 2>/dev/null; do :; done
  while $ipt -w -D FORWARD -j POJEMNIK-DOCKER 2>/dev/null; do :; done
  for chain in POJEMNIK-INPUT POJEMNIK-DOCKER; do
    $ipt -w -F $chain 2>/dev/null; $ipt -w -X $chain 2>/dev/null
  done
done
[ -f /run/pojemnik-firewall-restore.pid ] && kill -- -$(cat /run/pojemnik-firewall-restore.pid)
rm -rf /etc/pojemnik /run/pojemnik-firewall-restore.pid
true
"""


@dataclass(frozen=True)
class Net:
    server: RemoteHost  # root@server
    outside: RemoteHost  # root@old-server
    address: str  # server's address on the hosts' network
    container: str  # the undeclared container on the server's engine

    def connects(self, port: int, address: str = "") -> bool:
        """A TCP connect from old-server to the server (or `address`), 3 s at most."""
        script = f"timeout 3 bash -c {quote(f'exec 3<>/dev/tcp/{address or self.address}/{port}')}"
        return self.outside.run(script, check=False, timeout=30).returncode == 0


@pytest.fixture(scope="module")
def net(deployment: Deployment, server_root: RemoteHost, old_server: RemoteHost) -> Iterator[Net]:
    name = f"pjfw-undeclared-{secrets.token_hex(3)}"
    server_root.run(CLEANUP)
    server_root.run(f"docker run -d --restart unless-stopped --name {name} "
                    f"-p 0.0.0.0:{UNDECLARED_PORT}:8080 {BASE_IMAGE} "
                    f"perl -e {quote(PERL_SERVER)} 8080")
    server_root.run(f"setsid nohup perl -e {quote(PERL_SERVER)} {HOST_PORT} "
                    f">/dev/null 2>&1 </dev/null & echo $! > /run/pjfw-listener.pid")
    net = Net(server_root, old_server, server_root.network_address or "server", name)
    try:
        for port in (22, deployment.http_port, deployment.https_port, UNDECLARED_PORT,
                     HOST_PORT):
            assert _eventually(lambda p=port: net.connects(p)), f"{port} not reachable before"
        yield net
    finally:
        server_root.run(CLEANUP, check=False)
        server_root.run(f"docker rm -f {name}; kill $(cat /run/pjfw-listener.pid); "
                        "rm -f /run/pjfw-listener.pid", check=False)


def _eventually(check: object, attempts: int = 30) -> bool:
    assert callable(check)
    for _ in range(attempts):
        if check():
            return True
        time.sleep(1)
    return False


def rules(host: RemoteHost, command: str = "iptables") -> dict[str, list[str]]:
    from pojemnik.planning.firewall import parse_save

    return parse_save(host.run(f"{command}-save -t filter").text)


def status(deployment: Deployment, host: RemoteHost, **env: str) -> dict[str, object]:
    result = deployment.fab(host, "firewall.status", "--json", extra_env=env)
    document: dict[str, object] = json.loads(result.stdout)
    return document


# --- plan ----------------------------------------------------------------------------------

def test_plan_here_and_on_the_server(deployment: Deployment, server_root: RemoteHost) -> None:
    local = subprocess.run([sys.executable, "-m", "invoke", "firewall.plan"], cwd=REPO,
                           env=deployment.env, capture_output=True, text=True, check=True)
    assert "22/tcp     from anyone  (ssh)" in local.stdout
    assert "28080/tcp  from anyone  (service proxy)" in local.stdout
    assert "assumed: not asked a server" in local.stdout
    remote = json.loads(deployment.fab(server_root, "firewall.plan", "--format", "json").stdout)
    assert remote["ssh_ports"] == [22] and remote["ssh_ports_from_server"]
    assert [p["port"] for p in remote["public"]] == [22, 28080, 28443]


# --- apply ---------------------------------------------------------------------------------

def test_apply_leaves_only_the_declared_ports_reachable(deployment: Deployment, net: Net,
                                                       server: RemoteHost) -> None:
    result = deployment.fab(net.server, "firewall.apply", "--timeout", TIMEOUT)
    print(f"\n--- firewall.apply ---\n{result.stdout}{result.stderr}")
    assert "restore of the previous rules armed (detached process" in result.stdout
    assert "applied and confirmed by a new SSH connection" in result.stdout
    for port in (22, deployment.http_port, deployment.https_port):
        assert net.connects(port), f"declared port {port} is blocked"
    assert not net.connects(UNDECLARED_PORT), "a container's undeclared port is reachable"
    assert not net.connects(HOST_PORT), "the host's undeclared port is reachable"
    assert not net.connects(5432), "the database port is reachable"
    # The sites still work: proxy -> php/app -> db (containers reach each other).
    assert "database: ok" in get(server, deployment.http_port, "php.localhost")[1]
    assert "database: ok" in get(server, deployment.http_port, "app.localhost")[1]
    # The server resolves names and opens connections out (replies come back in).
    outside = net.outside.network_address
    assert net.server.run("getent hosts old-server").text.split()[0] == outside
    net.server.run(f"timeout 5 bash -c {quote(f'exec 3<>/dev/tcp/{outside}/22; head -c 4 <&3')}")
    # A container on the stack's public network reaches the hosts' network.
    services = f"{deployment.project}-services"
    net.server.run(f"docker run --rm --network {services} {BASE_IMAGE} timeout 5 bash -c "
                   f"{quote(f'exec 3<>/dev/tcp/{outside}/22; head -c 4 <&3')}")
    # In front: INPUT -> ours; FORWARD -> DOCKER-USER first, whose first rule is ours.
    live = rules(net.server)
    assert "-A INPUT -j POJEMNIK-INPUT" in live["INPUT"]
    assert live["FORWARD"][0] == "-A FORWARD -j DOCKER-USER"
    assert live["DOCKER-USER"][0] == "-A DOCKER-USER -j POJEMNIK-DOCKER"
    # Persisted, and the same policy for IPv6 is live there.
    files = net.server.run("ls /etc/pojemnik/firewall").text.split()
    assert {"rules.v4", "rules.v6", "previous.v4", "previous.v6", "load"} <= set(files)
    v6 = rules(net.server, "ip6tables")
    assert v6["POJEMNIK-INPUT"][-1] == "-A POJEMNIK-INPUT -j DROP"
    assert "-A POJEMNIK-INPUT -p tcp -m tcp --dport 28080 -j ACCEPT" in v6["POJEMNIK-INPUT"]
    report = status(deployment, net.server)
    assert report["matches"] is True, report["drift"]


def test_applying_twice_changes_nothing(deployment: Deployment, net: Net) -> None:
    before = net.server.run("iptables-save -t filter | grep -v '^#'; "
                            "ip6tables-save -t filter | grep -v '^#'").text
    result = deployment.fab(net.server, "firewall.apply", "--timeout", TIMEOUT)
    assert "matches the declaration" in result.stdout and "nothing to do" in result.stdout
    after = net.server.run("iptables-save -t filter | grep -v '^#'; "
                           "ip6tables-save -t filter | grep -v '^#'").text
    strip = [line.split(" [")[0] for line in before.splitlines()]
    assert strip == [line.split(" [")[0] for line in after.splitlines()]  # counters aside
    # The loader itself is idempotent too: no duplicate jumps when run again.
    net.server.run("/etc/pojemnik/firewall/load")
    live = rules(net.server)
    assert live["INPUT"].count("-A INPUT -j POJEMNIK-INPUT") == 1
    assert live["DOCKER-USER"].count("-A DOCKER-USER -j POJEMNIK-DOCKER") == 1


def test_status_lists_drift_and_apply_repairs_it(deployment: Deployment, net: Net) -> None:
    net.server.run("iptables -w -D POJEMNIK-INPUT -p tcp -m tcp --dport 28443 -j ACCEPT && "
                   "iptables -w -D DOCKER-USER -j POJEMNIK-DOCKER")
    text = deployment.fab(net.server, "firewall.status").stdout
    assert "DRIFT from the declaration" in text
    assert "IPv4: missing: -A POJEMNIK-INPUT -p tcp -m tcp --dport 28443 -j ACCEPT" in text
    assert "IPv4: DOCKER-USER does not jump to POJEMNIK-DOCKER" in text
    # Unhooked, Docker's own rules decide again: the undeclared port is open.
    assert net.connects(UNDECLARED_PORT)
    deployment.fab(net.server, "firewall.apply", "--timeout", TIMEOUT)
    assert status(deployment, net.server)["matches"] is True
    assert not net.connects(UNDECLARED_PORT)


def test_rollback_puts_back_the_previous_rules(deployment: Deployment, net: Net) -> None:
    # A second declaration: SSH from anywhere on IPv4 only (an allow-list).
    narrow = {"SSH_ALLOW_FROM": "0.0.0.0/0"}
    deployment.fab(net.server, "firewall.apply", "--timeout", TIMEOUT, extra_env=narrow)
    assert status(deployment, net.server, **narrow)["matches"] is True
    assert "--dport 22 " not in " ".join(rules(net.server, "ip6tables")["POJEMNIK-INPUT"])
    result = deployment.fab(net.server, "firewall.rollback", "--timeout", TIMEOUT)
    assert "rolled back to the previous rules" in result.stdout
    assert status(deployment, net.server)["matches"] is True  # the default declaration
    assert status(deployment, net.server, **narrow)["matches"] is False
    assert net.connects(22) and not net.connects(UNDECLARED_PORT)


def test_after_a_dockerd_restart_the_rules_are_back_in_front(deployment: Deployment, net: Net,
                                                             server: RemoteHost) -> None:
    # As after a reboot: none of our rules are live, only the persisted files remain.
    net.server.run(CLEANUP.replace("rm -rf /etc/pojemnik", "rm -rf"))
    assert "POJEMNIK" not in net.server.run("iptables-save -t filter").text
    assert net.connects(UNDECLARED_PORT)  # open again: the restart must close it
    restart = net.server.run("pjremote-restart-dockerd", timeout=300).text
    print(f"\n--- pjremote-restart-dockerd ---\n{restart}")
    assert "firewall hook run" in restart
    assert "POJEMNIK" not in restart.split("before the hook:")[1].split("firewall hook")[0]
    live = rules(net.server)
    assert live["FORWARD"][0] == "-A FORWARD -j DOCKER-USER"
    assert live["DOCKER-USER"][0] == "-A DOCKER-USER -j POJEMNIK-DOCKER"
    assert status(deployment, net.server)["matches"] is True

    def serves() -> bool:
        try:
            return "database: ok" in get(server, deployment.http_port, "php.localhost")[1]
        except OSError:
            return False

    assert _eventually(serves, attempts=180), "the stack does not serve after the restart"
    assert _eventually(lambda: net.server.run(
        f"docker inspect -f '{{{{.State.Running}}}}' {net.container}").text.strip() == "true")
    assert not net.connects(UNDECLARED_PORT) and not net.connects(HOST_PORT)
    assert net.connects(deployment.http_port) and net.connects(22)


def test_a_declaration_that_blocks_ssh_is_undone_by_the_server(deployment: Deployment,
                                                               net: Net) -> None:
    before = rules(net.server)["POJEMNIK-INPUT"]
    locked = {"SSH_ALLOW_FROM": "192.0.2.0/24"}  # TEST-NET-1: not where we come from
    result = deployment.fab(net.server, "firewall.apply", "--timeout", TIMEOUT,
                            extra_env=locked, check=False, timeout=300)
    output = result.stdout + result.stderr
    print(f"\n--- firewall.apply with SSH_ALLOW_FROM=192.0.2.0/24 ---\n{output}")
    assert result.returncode != 0, output
    assert "WARNING: your address" in output
    assert "a NEW SSH connection FAILED after applying" in output
    assert "firewall NOT applied" in output
    assert "Traceback" not in output  # one clear message
    assert "the server restored the previous rules itself (detached process)" in output
    # Back: new logins work, the previous rules are live and persisted again.
    assert rules(net.server)["POJEMNIK-INPUT"] == before
    assert status(deployment, net.server)["matches"] is True
    log = net.server.run("cat /etc/pojemnik/firewall/log").text
    assert "restored the previous rules (dead-man-timer)" in log
    assert "192.0.2.0/24" not in net.server.run("cat /etc/pojemnik/firewall/rules.v4").text
    assert net.connects(22) and not net.connects(UNDECLARED_PORT)
