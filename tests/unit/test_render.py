"""Rendering a plan: a table, JSON, and the bash script of docker commands."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from stackbuilders import DB_PASSWORD, converged, with_container, with_service

from pojemnik import Stack
from pojemnik.operations.images.base import BaseRecipe
from pojemnik.planning import plan as p
from pojemnik.planning.plan import Options, make_plan
from pojemnik.planning.render import MASK, as_json, bash, table
from pojemnik.planning.state import Observed


def flat(script: str) -> str:
    """The script with line continuations joined, so each command is on one line."""
    return script.replace(" \\\n  ", " ")


@pytest.fixture
def fresh(stack: Stack) -> p.Plan:
    return make_plan(stack, Observed())


def test_bash_creates_networks_with_fixed_subnets(fresh: p.Plan) -> None:
    script = flat(bash(fresh))
    assert ("docker network create --driver=bridge --subnet=10.9.10.0/24 "
            "--gateway=10.9.10.1 --internal") in script
    assert "docker network create --driver=bridge --subnet=10.9.20.0/24 " \
        "--gateway=10.9.20.1 --label" in script


def test_bash_runs_containers_with_fixed_addresses_and_aliases(fresh: p.Plan) -> None:
    lines = flat(bash(fresh)).splitlines()
    proxy = next(line for line in lines if "--name demo-proxy" in line)
    assert "--network demo-services --ip 10.9.20.3 --network-alias proxy" in proxy
    assert "--publish 127.0.0.1:8080:8080/tcp" in proxy
    assert "--health-cmd 'curl -fsS http://127.0.0.1:8080/'" in proxy
    # php's first network is given at create time, the second one connected after.
    php = next(line for line in lines if "--name demo-php" in line)
    assert "--network demo-services --ip 10.9.20.4 --network-alias php" in php
    assert "docker network connect --ip 10.9.10.4 --alias php demo-isolated demo-php" in lines
    assert "docker start demo-php" in lines


def test_bash_hardens_every_container(fresh: p.Plan) -> None:
    creates = [line for line in flat(bash(fresh)).splitlines()
               if line.startswith("docker container create")]
    assert len(creates) == 4
    for line in creates:
        assert "--read-only" in line
        assert "--cap-drop ALL" in line
        assert "--security-opt no-new-privileges" in line
        assert "--memory " in line and "--pids-limit 100" in line
    db = next(line for line in creates if "--name demo-db" in line)
    assert "--memory 268435456 --memory-swap 268435456" in db
    assert "--mount type=volume,source=demo-dbdata,target=/var/lib/db" in db
    assert "/.secrets/demo/db_password,target=/run/secrets/db_password,readonly" in db
    assert "--tmpfs /tmp:rw,noexec,nosuid,size=16m,mode=1777" in db


def test_bash_builds_images_with_labels(fresh: p.Plan, stack: Stack) -> None:
    script = flat(bash(fresh))
    context = stack.root.resolve() / "images" / "php"
    assert (f"docker image build --tag demo/php:latest --file {context}/Dockerfile "
            "--build-arg BASE_IMAGE=debian:bookworm-slim") in script
    # The labels pojemnik itself gives a volume, so a stack made by the script is its own.
    assert ("docker volume create --label pojemnik.kind=volume --label pojemnik.name=dbdata "
            "--label pojemnik.project=demo demo-dbdata") in script


def secret_plans(stack: Stack) -> list[p.Plan]:
    """Plans that carry php's DB_PASSWORD: a first deploy, and a recreate after a change."""
    changed = with_service(stack, "php", environment={**stack.service("php").environment,
                                                      "DB_HOST": "db2"})
    return [make_plan(stack, Observed()), make_plan(changed, converged(stack))]


def test_secret_looking_values_are_never_printed(stack: Stack) -> None:
    for plan in secret_plans(stack):
        assert plan.of_kind(p.CREATE, p.RECREATE)
        for output in (table(plan), as_json(plan), bash(plan)):
            assert DB_PASSWORD not in output


def test_bash_reads_secret_values_from_the_environment(stack: Stack) -> None:
    script = flat(bash(make_plan(stack, Observed())))
    php = next(line for line in script.splitlines() if "--name demo-php" in line)
    assert "--env DB_PASSWORD " in php
    assert "--env DB_HOST=db " in php


def test_json_masks_secret_values_and_keeps_the_rest(stack: Stack) -> None:
    data = json.loads(as_json(make_plan(stack, Observed())))
    php = next(a for a in data["actions"] if a["target"] == "demo-php")
    assert php["container"]["environment"] == {"DB_HOST": "db", "DB_PASSWORD": MASK}


def test_json_parses_and_lists_actions(fresh: p.Plan) -> None:
    data = json.loads(as_json(fresh))
    assert data["project"] == "demo"
    assert [(a["kind"], a["target"]) for a in data["actions"]] == [
        (a.kind, a.target) for a in fresh.actions]
    assert all(a["reason"] for a in data["actions"])
    proxy = next(a for a in data["actions"] if a["target"] == "demo-proxy")
    assert proxy["wave"] == 2
    assert proxy["container"]["networks"] == [
        {"network": "demo-services", "ip": "10.9.20.3", "aliases": ["proxy"]}]
    network = next(a for a in data["actions"] if a["kind"] == p.CREATE_NETWORK)
    assert network["network"]["subnet"] == "10.9.10.0/24"
    assert data["unchanged"] == [] and data["orphans"] == []


def test_table_lists_actions_with_reasons(stack: Stack) -> None:
    observed = with_container(converged(stack), "demo-db", state="exited")
    text = table(make_plan(stack, observed))
    assert text.splitlines()[0].split() == ["ACTION", "TARGET", "REASON"]
    assert "start" in text and "demo-db" in text and "container exited" in text


def test_table_for_nothing_to_do(stack: Stack) -> None:
    assert table(make_plan(stack, converged(stack))) == "demo: nothing to do (9 unchanged)"


def bash_syntax_ok(script: str) -> None:
    result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True,
                            check=False)
    assert result.returncode == 0, result.stderr


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@needs_bash
def test_bash_output_is_valid_bash(stack: Stack) -> None:
    fresh = make_plan(stack, Observed())
    bash_syntax_ok(bash(fresh))
    bash_syntax_ok(bash(fresh, BaseRecipe.for_ref(stack.base_image).shell()))


@needs_bash
def test_bash_output_is_valid_bash_with_awkward_values(stack: Stack) -> None:
    awkward = with_service(stack, "app", environment={"APP_MODE": "it's \"odd\" $HOME `x`"},
                           command=["sh", "-c", "echo 'a b'; exit 0"])
    observed = converged(stack)
    plan = make_plan(awkward, observed, Options(remove_orphans=True))
    assert plan.of_kind(p.RECREATE)
    script = bash(plan)
    bash_syntax_ok(script)
    assert "docker rm --force demo-app" in script


@needs_bash
def test_bash_passes_awkward_values_through_unchanged(stack: Stack) -> None:
    # Run the script with `docker` replaced by a function printing its arguments.
    value = "it's \"odd\" $HOME `echo INJECTED` ; echo INJECTED"
    awkward = with_service(stack, "app", environment={"APP_MODE": value})
    fake = "docker() { printf '%s\\n' \"$@\"; }\n"
    result = subprocess.run(["bash", "-s"], input=fake + bash(make_plan(awkward, Observed())),
                            text=True, capture_output=True, check=False, env={})
    assert result.returncode == 0, result.stderr
    arguments = result.stdout.splitlines()
    assert f"APP_MODE={value}" in arguments
    assert "INJECTED" not in arguments
    assert "DB_PASSWORD" in arguments  # by name only: its value comes from the environment
    assert not any(DB_PASSWORD in a for a in arguments)


URL = "postgres://app:hunter2-in-a-url@db:5432/app"


def test_a_password_in_a_url_is_masked_whatever_the_variable_is_called(stack: Stack) -> None:
    from pojemnik.planning.compose import compose_document, to_yaml
    from pojemnik.planning.render import is_secret

    stack = with_service(stack, "app", environment={"DATABASE_URL": URL,
                                                    "BROKER": "redis://:pw2@cache/0",
                                                    "HOME_URL": "https://example.org/"})
    plan = make_plan(stack, Observed())
    shown = as_json(plan) + bash(plan) + to_yaml(compose_document(stack))
    assert "hunter2-in-a-url" not in shown and "pw2" not in shown
    assert "--env DATABASE_URL " in flat(bash(plan)) + " "  # read from the environment
    assert "https://example.org/" in shown  # no password: shown as it is
    assert is_secret("X", "smtp://user:p@mail") and not is_secret("X", "https://a@b/")
