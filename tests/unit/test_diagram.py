"""The topology picture: the DOT text from a declaration (pure): boxes, addresses (standby
ones too), traffic and dependency arrows, a layout whose client arrows run apart; and
`invoke diagram` writing an SVG through Graphviz without a Docker engine, by default into
the git-ignored .pojemnik/ (never over the tracked docs/topology.*)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from stackbuilders import EXAMPLE_ROOT, EXAMPLE_SETTINGS, make_repo, make_stack

from pojemnik import Network, Port, Service, Stack
from pojemnik.operations import diagram as render
from pojemnik.planning import diagram as d

ROOT, SETTINGS = EXAMPLE_ROOT, EXAMPLE_SETTINGS
EXPECTED = [
    "isolated", "10.0.10.0/24", "services", "10.0.20.0/24",
    "proxy", "php", "app", "db",
    "10.0.20.3", "10.0.20.4", "10.0.20.5", "10.0.10.3", "10.0.10.4", "10.0.10.5",
    "127.0.0.1:18080 → 8080/tcp", "127.0.0.1:18443 → 8443/tcp",
]
NO_DOT = shutil.which("dot") is None
NO_DOT_REASON = "Graphviz's dot is not installed (apt-get install graphviz)"


def node_lines(text: str, node: str) -> int:
    """How many times the node is declared (edges to it not counted)."""
    return len(re.findall(rf'^\s*"{re.escape(node)}" \[', text, re.MULTILINE))


def test_dot_names_every_network_subnet_service_address_and_port(example: Stack) -> None:
    text = d.to_dot(example)
    for expected in EXPECTED:
        assert expected in text, expected
    assert "internal: no route out" in text  # isolated
    assert "gateway 10.0.20.1" in text  # services


def test_dot_draws_a_service_on_two_networks_once(example: Stack) -> None:
    text = d.to_dot(example)
    # php: one service node, one address node inside each of its networks.
    assert node_lines(text, "service:php") == 1
    assert '"address:services:php"' in text and '"address:isolated:php"' in text
    # From the network nearest the published ports, through php, to the other.
    assert '"address:services:php" -> "service:php"' in text
    assert '"service:php" -> "address:isolated:php"' in text


def test_dot_attaches_mounts_by_their_host_side(example: Stack) -> None:
    text = d.to_dot(example)
    assert node_lines(text, "bind:www/php.localhost") == 1  # mounted by proxy and php
    assert '"service:proxy" -> "bind:www/php.localhost"' in text
    assert '"service:php" -> "bind:www/php.localhost"' in text
    assert '"volume:dbdata" [label="volume pojemnik-unit-dbdata"' in text
    assert '"service:db" -> "volume:dbdata" [label="/var/lib/postgresql/data (rw)"' in text
    assert '"secret:db_password"' in text
    assert "tmpfs /run/postgresql" in text


def test_dot_of_an_unusual_stack(tmp_path: Path) -> None:
    """A dynamic address, an external image, a network nobody uses, names to escape."""
    stack = make_stack(make_repo(tmp_path))
    stack = replace(stack, networks=[*stack.networks, Network("spare", "10.9.30.0/24")],
                    services=[*stack.services, Service(
                        "cache", image="redis:7", networks={"services": None},
                        ports=[Port(16379, 6379, "127.0.0.1", "udp")])])
    text = d.to_dot(stack)
    assert "(dynamic)" in text and "image redis:7" in text
    assert "127.0.0.1:16379 → 6379/udp" in text and "(no services)" in text
    assert d.to_dot(replace(stack, project='a"b')).count('\\"') >= 1


def test_render_without_dot_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    with pytest.raises(render.DiagramError, match="apt-get install graphviz"):
        render.render("digraph {}", "svg")
    assert not render.can_render("png")


def run_diagram(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **SETTINGS,
           # No engine: the drawing comes from the declaration alone.
           "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "invoke", "diagram", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.skipif(NO_DOT, reason=NO_DOT_REASON)
def test_invoke_diagram_writes_an_svg_and_a_png(tmp_path: Path) -> None:
    output = tmp_path / "out" / "topology.svg"
    result = run_diagram("--output", str(output))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"wrote {output}" in result.stdout
    root = ET.parse(output).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for expected in EXPECTED:
        assert expected in texts, expected
    if render.can_render("png"):
        assert output.with_suffix(".png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_invoke_diagram_writes_dot_text_without_graphviz(tmp_path: Path) -> None:
    output = tmp_path / "topology.dot"
    result = run_diagram("--output", str(output), path=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert output.read_text().startswith("digraph topology {")


def test_invoke_diagram_prints_dot_text(tmp_path: Path) -> None:
    result = run_diagram("--output", "-", path=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("digraph topology {")
    assert '"service:proxy"' in result.stdout


def test_invoke_diagram_without_graphviz_is_one_clear_error(tmp_path: Path) -> None:
    result = run_diagram("--output", str(tmp_path / "t.svg"), path=str(tmp_path))
    assert result.returncode == 1
    assert "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "t.svg").exists()


def test_invoke_diagram_refuses_an_unknown_format(tmp_path: Path) -> None:
    result = run_diagram("--output", str(tmp_path / "t.pdf"))
    assert result.returncode == 1
    assert "write .svg, .png or .dot" in result.stderr


def edge(text: str, tail: str, head: str) -> str:
    """The attributes of the one edge tail -> head."""
    found = re.findall(rf'^\s*"{re.escape(tail)}" -> "{re.escape(head)}" (\[.*\]);$', text,
                       re.MULTILINE)
    assert len(found) == 1, (tail, head, found)
    return found[0]


def test_traffic_goes_clients_ports_proxy_upstreams(example: Stack) -> None:
    text = d.to_dot(example)
    for port in ("18080", "18443"):
        assert f'color="{d.TRAFFIC_COLOR}"' in edge(text, f"clients:proxy:{port}:tcp",
                                                     f"port:proxy:{port}:tcp")
        edge(text, f"port:proxy:{port}:tcp", "service:proxy")
    # From the proxy's Upstreams; its depends_on on the same service folded into it.
    to_app = edge(text, "service:proxy", "service:app")
    assert "requests to :8080" in to_app and "needs it started" in to_app
    assert "requests to :9000" in edge(text, "service:proxy", "service:php")
    assert "constraint" not in to_app  # traffic sets the left-to-right order


def test_dependencies_are_dashed_arrows_that_leave_the_layout_alone(example: Stack) -> None:
    text = d.to_dot(example)
    for service in ("php", "app"):
        needs = edge(text, f"service:{service}", "service:db")
        assert 'label="needs it started"' in needs and 'style="dashed"' in needs
        assert 'constraint="false"' in needs


def test_a_dependency_waited_for_until_ready_says_so(tmp_path: Path) -> None:
    stack = make_stack(make_repo(tmp_path))
    proxy = next(s for s in stack.services if s.name == "proxy")
    text = d.to_dot(replace(stack, services=[
        *(s for s in stack.services if s.name != "proxy"),
        replace(proxy, depends_on=["php"], upstreams=None)]))
    assert 'label="needs it ready"' in edge(text, "service:proxy", "service:php")
    assert "requests to" not in text  # no Upstreams: no traffic arrow is made up


def test_standby_addresses_are_shown_on_each_network(example: Stack) -> None:
    text = d.to_dot(example)
    for address in ("10.0.20.104", "10.0.10.104", "10.0.20.105", "10.0.10.105"):
        assert f"standby {address} (start-first)" in text, address
    assert "standby 10.0.20.3" not in text  # the proxy is stop-first: none


def test_each_client_arrow_has_its_own_client_and_the_title_is_below(example: Stack) -> None:
    text = d.to_dot(example)
    clients = re.findall(r'^\s*"(clients:[^"]+)" \[', text, re.MULTILINE)
    assert clients == ["clients:proxy:18080:tcp", "clients:proxy:18443:tcp"]
    host = re.search(r"subgraph cluster_host \{\n\s*graph (\[.*\]);", text)
    assert host and 'labelloc="b"' in host.group(1)
    assert "subgraph cluster_ports {" in text  # the ports stacked together


def example_copy(root: Path) -> Path:
    for name in ("tasks.py", "stack.py", ".env.example"):
        shutil.copy2(ROOT / name, root / name)
    for name in ("images", "config", "www"):
        shutil.copytree(ROOT / name, root / name)
    return root


def diagram_in(root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "invoke", "diagram"], cwd=root,
                          env={**os.environ, **SETTINGS,
                               "DOCKER_HOST": "unix:///nonexistent/docker.sock", **env},
                          capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.skipif(NO_DOT, reason=NO_DOT_REASON)
def test_invoke_diagram_leaves_tracked_files_alone_by_default(tmp_path: Path) -> None:
    """No --output: the picture goes to the git-ignored .pojemnik/, never docs/."""
    result = diagram_in(example_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"wrote {tmp_path / '.pojemnik' / 'topology.svg'}" in result.stdout
    assert not (tmp_path / "docs").exists()


def test_the_default_output_is_a_setting(tmp_path: Path) -> None:
    result = diagram_in(example_copy(tmp_path), PATH=str(tmp_path),  # no Graphviz needed
                        INVOKE_POJEMNIK_DIAGRAM_OUTPUT="drawn/topology.dot")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "drawn" / "topology.dot").read_text().startswith("digraph topology {")
    assert not (tmp_path / "docs").exists()
