"""The server's schedule of backups as the agent's task: the same steps as `backup.run`
(docker CLI argv), under the lock, bounded, the password a file. Pure (the agent running
them against the real engine: tests/integration/test_backup_agent.py)."""

from __future__ import annotations

import json
from dataclasses import replace

from pojemnik import Backup, Postgres, Retention, Secret, Stack
from pojemnik.agent.config import from_dict
from pojemnik.operations.backup.schedule import agent_tasks, helper_name
from pojemnik.planning import backup as b


def backed(stack: Stack, **changes: object) -> Stack:
    declared = Backup(dumps=[Postgres("db", database="app")], volumes=["dbdata"],
                      schedule="30 3 * * *", timeout=900, retention=Retention(5, 0, 2))
    return replace(stack, secrets=[*stack.secrets, Secret("backup_password")],
                   backup=replace(declared, **changes))


def test_no_backup_or_a_swarm_schedules_nothing(stack: Stack) -> None:
    assert agent_tasks(replace(stack, backup=None)) == {}
    assert agent_tasks(replace(backed(stack), target="swarm")) == {}


def test_the_task_runs_the_backup_run_steps_under_the_lock_within_the_timeout(
        stack: Stack) -> None:
    stacked = backed(stack)
    task = agent_tasks(stacked)["backup"]
    # The agent's config is JSON, and the agent reads it as it is.
    from_dict({"project": stacked.project, "lock_image": "base", "tasks": {"backup": task}})
    json.dumps(task)
    assert (task["schedule"], task["timeout"], task["lock"]) == ("30 3 * * *", 900, True)
    name = helper_name(stacked)
    steps = task["steps"]
    started = steps[0]["argv"]
    assert started[:6] == ["docker", "run", "-d", "--rm", "--name", name]
    # The helper's own time limit is the task's: it ends by itself after a killed run, and
    # carries the agent's label, by which the agent removes it after every run.
    assert started[-1] == "900" and started[-6] == f"{stacked.project}/backup:latest"
    assert f"pojemnik.agent.task={stacked.project}/backup" in started
    assert started[started.index("--network") + 1] == "none"  # a local repository
    declared = stacked.backup
    assert declared is not None
    expected = b.run_steps(stacked, declared)
    middle = steps[1:]
    assert len(middle) == len(expected)
    for step, want in zip(middle, expected, strict=True):
        if want.source is None:
            assert step == {"argv": ["docker", "exec", name, *want.helper]}
        else:
            assert step == {"pipe": [["docker", "exec", stacked.container_name("db"),
                                      *want.source[1]],
                                     ["docker", "exec", "-i", name, *want.helper]]}
    dump = next(s for s in middle if "pipe" in s and "pg_dump" in s["pipe"][0])
    assert dump["pipe"][1][4:6] == ["pojemnik-backup", "dump"]
    assert middle[-1]["argv"][3:] == ["pojemnik-backup", "seal", stacked.project, "db,dbdata",
                                      "5", "0", "2"]


def test_the_password_and_key_are_files_never_argv_or_environment(stack: Stack) -> None:
    stacked = backed(stack, repository="sftp:backup@old.example.com:/srv/b",
                     known_hosts="old.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5")
    started = agent_tasks(stacked)["backup"]["steps"][0]["argv"]
    mounts = [started[i + 1] for i, arg in enumerate(started) if arg == "--mount"]
    secrets = stacked.host_path(stacked.secrets_dir())
    assert f"type=bind,source={secrets}/backup_password,target={b.PASSWORD_FILE},readonly" \
        in mounts
    assert f"type=bind,source={secrets}/backup_ssh_key,target={b.SSH_KEY},readonly" in mounts
    assert not any("/.ssh" in m for m in mounts)  # the host's own SSH folder: never
    env = [started[i + 1] for i, arg in enumerate(started) if arg == "--env"]
    assert f"RESTIC_PASSWORD_FILE={b.PASSWORD_FILE}" in env
    assert not any(e.startswith(("RESTIC_PASSWORD=", "RESTIC_PASSWORD_COMMAND")) for e in env)
    assert "POJEMNIK_KNOWN_HOSTS=old.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5" in env
    assert started[started.index("--network") + 1] == "bridge"
    assert started[started.index("--cap-drop") + 1] == "ALL"
    assert "no-new-privileges" in started


def test_the_backup_task_is_in_the_agents_config(stack: Stack) -> None:
    from pojemnik.operations.server.agent import agent_config, scheduled

    stacked = backed(stack)
    assert agent_config(stacked)["tasks"]["backup"] == agent_tasks(stacked)["backup"]
    assert scheduled(stacked)["backup"] == "30 3 * * *"
