"""Bad input through `invoke deploy` on the real engine: a clear message, nothing changed.

Each case breaks a scratch copy of the example repository (its own .env, stack.py or
files) and checks that deploy exits non-zero naming the file/field, and that the
engine holds no object of the project and no secret was written.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from .conftest import INVOKE, Copy, make_copy

pytestmark = pytest.mark.integration


def engine_objects(client: docker.DockerClient, project: str) -> list[str]:
    label = {"label": f"pojemnik.project={project}"}
    found = [c["Names"][0] for c in client.api.containers(all=True, filters=label)]
    found += [n["Name"] for n in client.api.networks(filters=label)]
    found += [v["Name"] for v in client.api.volumes(filters=label).get("Volumes") or []]
    found += [t for i in client.api.images() for t in i.get("RepoTags") or []
              if t.startswith(project + "/")]
    return found


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


Breaker = Callable[[Path, Copy], dict[str, str]]

CASES: dict[str, tuple[Breaker, list[str]]] = {
    "malformed subnet": (
        lambda root, c: {"ISOLATED_SUBNET": "10.0.10.300/24"},
        ["networks.isolated.subnet", "not a valid subnet"]),
    "overlapping subnets": (
        lambda root, c: {"ISOLATED_SUBNET": c.services},
        ["networks.services.subnet", "overlaps"]),
    "duplicate host ports": (
        lambda root, c: {"HTTPS_PORT": str(c.http_port)},
        ["services.proxy.ports[1]", "also published"]),
    "fixed IP equal to the gateway": (
        lambda root, c: (edit(root / "stack.py", '{"services": 3}', '{"services": 1}'), {})[1],
        ["services.proxy.networks.services", "the gateway"]),
    "duplicate IPs": (
        lambda root, c: (edit(root / "stack.py", '{"services": 4, "isolated": 4}',
                              '{"services": 5, "isolated": 4}'), {})[1],
        ["services.app.networks.services", "also given to service 'php'"]),
    "missing Dockerfile": (
        lambda root, c: ((root / "images/php/Dockerfile").unlink(), {})[1],
        ["images.php.dockerfile", "images/php/Dockerfile does not exist"]),
    "missing mount source": (
        lambda root, c: ((root / "www/updates.localhost/index.html").rename(
            root / "moved.html"), (root / "www/updates.localhost").rmdir(), {})[2],
        ["services.proxy.mounts[1]", "www/updates.localhost does not exist"]),
    "unknown network": (
        lambda root, c: (edit(root / "stack.py", '{"services": 3}', '{"public": 3}'), {})[1],
        ["services.proxy.networks.public", "unknown network 'public'"]),
    "dependency cycle": (
        lambda root, c: (edit(root / "stack.py",
                              'depends_on=[Started("db")],  # PHP connects',
                              'depends_on=[Started("db"), "proxy"],  # PHP connects'),
                         {})[1],
        ["dependency cycle", "php -> proxy -> php"]),
    "malformed .env line": (
        lambda root, c: ((root / ".env").write_text("HTTP_PORT=8080\nthis is not a setting\n"),
                         {})[1],
        [".env:2", "cannot parse 'this is not a setting'"]),
    "host port out of range": (
        lambda root, c: {"HTTP_PORT": "70000"},
        ["services.proxy.ports[0]", "host port 70000 is out of range"]),
    "syntax error in stack.py": (
        lambda root, c: (edit(root / "stack.py", "def declare(settings: Settings) -> Stack:",
                              "def declare(settings: Settings) -> Stack"), {})[1],
        ["stack.py:", "syntax error"]),
    "declare() fails": (
        lambda root, c: (edit(root / "stack.py", "    publish = settings[\"PUBLISH_ADDRESS\"]",
                              "    publish = settings[\"PUBLISH_ADDRESS\"] + 1"), {})[1],
        ["stack.py:", "declare() failed: TypeError"]),
    ".env not UTF-8": (
        lambda root, c: ((root / ".env").write_bytes(b"HTTP_PORT=8080\nNAME=caf\xe9\n"),
                         {})[1],
        [".env", "not UTF-8"]),
    "required variable unset": (
        lambda root, c: ((root / ".env.example").write_text(
            (root / ".env.example").read_text() + "\nADMIN_EMAIL=\n"), {})[1],
        ["ADMIN_EMAIL is required"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_before_any_change(
        client: docker.DockerClient, scratch_repo: Path, case: str) -> None:
    copy = make_copy(client, scratch_repo)
    breaker, expected = CASES[case]
    extra = breaker(scratch_repo, copy)
    result = copy.invoke("deploy", check=False, extra_env=extra)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "nothing was changed" in output
    for text in expected:
        assert text in output
    assert "fix:" in output
    assert engine_objects(client, copy.project) == []
    assert not (scratch_repo / ".secrets").exists()


def test_host_port_in_use_is_refused(client: docker.DockerClient, scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", copy.http_port))
        squatter.listen()
        result = copy.invoke("deploy", check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"127.0.0.1:{copy.http_port}/tcp is already in use" in output
    assert "services.proxy.ports[0]" in output
    assert engine_objects(client, copy.project) == []


def test_subnet_overlapping_an_existing_network_is_refused(
        client: docker.DockerClient, scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    squatter = client.networks.create(
        f"pjtest-squatter-{copy.project}", driver="bridge",
        labels={"pojemnik.project": copy.project + "-squatter"},
        ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=copy.services)]))
    try:
        result = copy.invoke("deploy", check=False)
    finally:
        squatter.remove()
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "overlaps" in output and squatter.name in output
    assert engine_objects(client, copy.project) == []


TASKS = [["down", "--volumes"], ["ps"], ["logs"], ["images.list"], ["images.build"],
         ["images.base"], ["networks.create"], ["containers.run"], ["export.compose"],
         ["plan"], ["check"], ["deploy"], ["status"], ["prune", "--dry-run"]]


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t[0])
def test_every_task_refuses_a_broken_env(client: docker.DockerClient, scratch_repo: Path,
                                         task: list[str]) -> None:
    """A typo (':' for '=') must not make `down --volumes` act on the default project."""
    copy = make_copy(client, scratch_repo)
    (scratch_repo / ".env").write_text(f"POJEMNIK_PROJECT: {copy.project}\n")
    env = {k: v for k, v in copy.env.items() if k != "POJEMNIK_PROJECT"}
    result = subprocess.run([*INVOKE, *task], cwd=scratch_repo, env=env, text=True,
                            capture_output=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert ".env:1" in output and "cannot parse" in output
    assert "Traceback" not in output
    assert not (scratch_repo / "compose.yaml").exists()


def test_a_bad_tail_is_a_message(client: docker.DockerClient, scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    result = copy.invoke("logs", "--tail", "x", check=False)
    assert result.returncode == 2
    assert "--tail 'x'" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


# --- issue 24: every problem in one pass, one per mistake, with the near name ----------

SETTINGS = ("POJEMNIK_PROJECT", "HTTP_PORT", "HTTPS_PORT", "PUBLISH_ADDRESS",
            "ISOLATED_SUBNET", "SERVICES_SUBNET")


def check_with_env_file(copy: Copy, **changed: str) -> str:
    """`invoke check` with the copy's settings in `.env` (the process environment, which
    would win over it, holds none), `changed` ones last: their line is the file's last."""
    values = {name: copy.env[name] for name in SETTINGS}
    for name in changed:
        values.pop(name, None)
    lines = [f"{name}={value}" for name, value in [*values.items(), *changed.items()]]
    (copy.root / ".env").write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in copy.env.items() if k not in SETTINGS}
    result = subprocess.run([*INVOKE, "check"], cwd=copy.root, env=env, text=True,
                            capture_output=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    return output


def test_check_reports_unrelated_typos_at_once(client: docker.DockerClient,
                                               scratch_repo: Path) -> None:
    """A network, an image spelt like a declared one, and an image on no engine: the
    last is found by asking the engine, still in the same pass."""
    copy = make_copy(client, scratch_repo)
    stack = scratch_repo / "stack.py"
    edit(stack, 'networks={"services": 3}', 'networks={"servcies": 3}')
    edit(stack, 'image="php",', 'image="pph",')
    edit(stack, 'image="postgres",', 'image="postgress:16",')
    output = check_with_env_file(copy)
    assert "3 problems in the declaration; nothing was changed" in output
    assert "services.proxy.networks.servcies: unknown network 'servcies'" in output
    assert "fix: did you mean 'services'?" in output
    assert "services.php.image: unknown image 'pph' (not declared)" in output
    assert "fix: did you mean 'php'?" in output
    assert "services.db.image: unknown image 'postgress:16' (not declared, and not " \
        "present on the engine)" in output
    assert "fix: did you mean 'postgres'?" in output
    assert engine_objects(client, copy.project) == []


def test_check_names_the_setting_an_env_typo_meant(client: docker.DockerClient,
                                                   scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    output = check_with_env_file(copy, HTPP_PORT="1")
    assert "1 problem in the declaration" in output
    assert f".env:{len(SETTINGS) + 1}: HTPP_PORT is a setting neither .env.example nor " \
        "stack.py knows" in output
    assert "fix: did you mean HTTP_PORT?" in output


def test_a_bad_number_in_env_is_one_problem(client: docker.DockerClient,
                                            scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    output = check_with_env_file(copy, HTTP_PORT="38O80")
    assert "1 problem in the declaration" in output, output
    assert f".env:{len(SETTINGS)}: HTTP_PORT='38O80' is not a whole number" in output
    assert "out of range" not in output


def test_a_small_subnet_in_env_blames_the_setting(client: docker.DockerClient,
                                                  scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    small = copy.services.replace("/24", "/30")
    base = small.rsplit(".", 1)[0]
    output = check_with_env_file(copy, SERVICES_SUBNET=small)
    assert "1 problem in the declaration" in output, output
    assert f".env:{len(SETTINGS)}: SERVICES_SUBNET={small} (network 'services') cannot " \
        "hold the addresses stack.py declares on it" in output
    for address, field in [(3, "services.proxy.networks.services"),
                           (4, "services.php.networks.services"),
                           (104, "services.php.update.standby.services"),
                           (105, "services.app.update.standby.services")]:
        assert f"{base}.{address} ({field})" in output
    assert "fix: set SERVICES_SUBNET in .env to a range that holds them" in output


def test_a_misspelt_read_suggests_the_setting_and_hides_nothing(
        client: docker.DockerClient, scratch_repo: Path) -> None:
    copy = make_copy(client, scratch_repo)
    stack = scratch_repo / "stack.py"
    edit(stack, 'settings.int("HTTPS_PORT", 443)', 'settings.int("HTTPS_PROT")')
    edit(stack, 'VolumeMount("dbdata"', 'VolumeMount("dbdta"')
    output = check_with_env_file(copy)
    assert "2 problems in the declaration" in output, output
    assert "setting HTTPS_PROT is not declared" in output
    assert "fix: did you mean HTTPS_PORT (.env:3)?" in output
    assert "unknown volume 'dbdta'" in output and "did you mean 'dbdata'?" in output
