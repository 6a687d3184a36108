"""A Swarm plan shown as a table, JSON, and the docker commands it stands for."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace

import pytest
from stackbuilders import DB_PASSWORD, with_service
from swarmbuilders import applied, fresh_state, images_built, on_swarm

from pojemnik import Healthcheck, Stack
from pojemnik.planning.swarm import plan as sp
from pojemnik.planning.swarm.plan import make_swarm_plan
from pojemnik.planning.swarm.render import as_json, bash, table


def flat(script: str) -> str:
    return script.replace(" \\\n  ", " ")


@pytest.fixture
def fresh(stack: Stack) -> sp.SwarmPlan:
    swarm = on_swarm(stack)
    return make_swarm_plan(swarm, images_built(swarm), fresh_state(swarm))


def line_of(script: str, start: str, *words: str) -> str:
    return next(line for line in flat(script).splitlines()
                if line.startswith(start) and all(w in line for w in words))


def test_bash_creates_overlays_with_the_declared_subnets(fresh: sp.SwarmPlan) -> None:
    script = bash(fresh)
    isolated = line_of(script, "docker network create", "demo-isolated")
    assert isolated.startswith("docker network create --driver overlay --attachable "
                               "--subnet 10.9.10.0/24 --gateway 10.9.10.1 --internal")
    assert "--internal" not in line_of(script, "docker network create", "demo-services")


def test_bash_creates_services_like_the_cli_would(fresh: sp.SwarmPlan) -> None:
    script = bash(fresh)
    proxy = line_of(script, "docker service create", "--name demo-proxy")
    for flag in ["--mode replicated --replicas 1", "--endpoint-mode dnsrr",
                 "--network name=demo-services,alias=proxy",
                 "--publish mode=host,published=8080,target=8080,protocol=tcp",
                 "--config source=demo-config-proxy-nginx.conf-",
                 "target=/etc/nginx/nginx.conf,mode=0444",
                 "--mount type=tmpfs,target=/run/nginx,tmpfs-size=1048576,tmpfs-mode=1777",
                 "--read-only --cap-drop ALL", "--limit-memory 67108864",
                 "--limit-pids 100", "--restart-condition any",
                 "--health-cmd 'curl -fsS http://127.0.0.1:8080/'",
                 "--update-order stop-first --update-parallelism 1 "
                 "--update-failure-action rollback --update-monitor 5.0s",
                 "--log-driver json-file --log-opt max-file=3"]:
        assert flag in proxy, flag
    assert proxy.endswith(" sha256:proxy")  # pinned by image id
    db = line_of(script, "docker service create", "--name demo-db")
    assert "--constraint node.id==node-m" in db
    assert ("--mount type=volume,source=demo-dbdata,target=/var/lib/db,"
            "volume-label=pojemnik.kind=volume") in db
    assert "--secret source=demo-db_password-5e5e5e5e5e,target=db_password,mode=0444" in db
    assert "docker secret create demo-db_password-5e5e5e5e5e " in script
    assert "/.secrets/demo/db_password" in line_of(script, "docker secret create")


def test_bash_never_prints_secret_values(fresh: sp.SwarmPlan) -> None:
    script = bash(fresh)
    assert DB_PASSWORD not in script and DB_PASSWORD not in as_json(fresh)
    assert "--env DB_PASSWORD " in line_of(script, "docker service create", "demo-php")


def test_bash_updates_only_what_drifted(stack: Stack) -> None:
    swarm = on_swarm(stack)
    built = images_built(swarm)
    state = applied(swarm, built, fresh_state(swarm))
    changed = with_service(swarm, "app", environment={"APP_MODE": "debug"}, replicas=3,
                           healthcheck=Healthcheck(["true"], interval=2))
    update = line_of(bash(make_swarm_plan(changed, built, state)), "docker service update")
    assert update.startswith("docker service update --env-rm DB_HOST "
                             "--env-add APP_MODE=debug")
    assert "--replicas 3" in update and "--health-cmd true --health-interval 2s" in update
    assert "--image" not in update and "--config" not in update
    assert "--label-add 'pojemnik.spec-hash=" in update and update.endswith(" demo-app")


def test_bash_moves_a_service_to_a_new_config(stack: Stack) -> None:
    swarm = on_swarm(stack)
    built = images_built(swarm)
    state = applied(swarm, built, fresh_state(swarm))
    (swarm.root / "config" / "proxy" / "nginx.conf").write_text("events { }\n")
    plan = make_swarm_plan(swarm, built, replace(state, files=fresh_state(swarm).files))
    old, new = plan.of_kind(sp.REMOVE_CONFIG)[0].target, plan.of_kind(sp.CREATE_CONFIG)[0].target
    update = line_of(bash(plan), "docker service update")
    assert f"--config-rm {old} --config-add source={new},target=/etc/nginx/nginx.conf" in update
    assert f"docker config rm {old}" in bash(plan).splitlines()


def test_generated_files_are_piped_into_configs(example: Stack) -> None:
    swarm = replace(on_swarm(example), target="swarm")
    plan = make_swarm_plan(swarm, images_built(swarm), fresh_state(swarm, files={}))
    script = bash(plan)
    assert "map $host $pojemnik_app { default app:8080; }\n' | docker config create " \
        "--label pojemnik.path=.pojemnik/pojemnik-unit/upstreams/app.conf " \
        "pojemnik-unit-upstreams-app.conf-" in script


def test_table_says_what_differs_from_one_host(fresh: sp.SwarmPlan) -> None:
    text = table(fresh)
    assert text.splitlines()[0].split() == ["ACTION", "TARGET", "REASON"]
    assert "create-service       demo-proxy" in text
    assert "on a Swarm, unlike one host:" in text
    assert "  - db: keeps data (volume dbdata) on one node" in text


def test_json_is_parseable_and_masks(fresh: sp.SwarmPlan) -> None:
    data = json.loads(as_json(fresh))
    assert data["target"] == "swarm" and data["prepare"] == []
    php = next(a for a in data["actions"] if a["target"] == "demo-php")
    assert php["service"]["environment"]["DB_PASSWORD"] == "******"


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_script_is_valid_syntax(fresh: sp.SwarmPlan) -> None:
    result = subprocess.run(["bash", "-n"], input=bash(fresh), text=True, capture_output=True)
    assert result.returncode == 0, result.stderr
