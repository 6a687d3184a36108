"""The topology picture: the DOT text from a declaration (pure), and `invoke diagram`
writing an SVG through Graphviz without a Docker engine."""

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
