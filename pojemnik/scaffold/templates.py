"""The project templates `pojemnik init --template` offers: which files each writes.

Files sit flat in a package folder as `<name>.tmpl`, so that no tool takes them for this
package's own modules, dot files or config (and setuptools not for a package: the
folders' names cannot be imported). Files every project has (tasks.py, fabfile.py, ...)
are in `project-template/`, with the `static` template's own.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

COMMON = "project-template"


@dataclass(frozen=True)
class ProjectFile:
    path: str  # in the new project
    template: str  # in the package: <folder>/<name>.tmpl
    fill: bool = False  # substitute $project


@dataclass(frozen=True)
class ProjectTemplate:
    name: str
    summary: str  # one line: what it makes
    when: str  # why to start from it
    files: tuple[ProjectFile, ...]
    try_it: str  # shell lines to see it work, once deployed


def _common(*files: ProjectFile) -> tuple[ProjectFile, ...]:
    return (
        *files,
        ProjectFile("tasks.py", f"{COMMON}/tasks.py.tmpl"),
        ProjectFile("fabfile.py", f"{COMMON}/fabfile.py.tmpl"),
        ProjectFile("fabric.yaml", f"{COMMON}/fabric.yaml.tmpl"),
        ProjectFile(".gitignore", f"{COMMON}/gitignore.tmpl"),
    )


STATIC = ProjectTemplate(
    "static",
    "one static site served by nginx: one service, one network",
    "learning the commands, or serving files",
    _common(
        ProjectFile("stack.py", f"{COMMON}/stack.py.tmpl"),
        ProjectFile(".env.example", f"{COMMON}/env.example.tmpl", fill=True),
        ProjectFile("images/web/Dockerfile", f"{COMMON}/Dockerfile.tmpl"),
        ProjectFile("config/web/nginx.conf", f"{COMMON}/nginx.conf.tmpl"),
        ProjectFile("www/index.html", f"{COMMON}/index.html.tmpl", fill=True),
    ),
    "curl http://127.0.0.1:8080/",
)

PROXY = "proxy-app-template"
PROXY_APP = ProjectTemplate(
    "proxy-app",
    "nginx proxy -> Python API, a worker, Redis on an internal network",
    "an application: the proxy finds the app through Upstreams, an update replaces the "
    "app start-first (no lost request), the worker has a healthcheck without HTTP",
    _common(
        ProjectFile("stack.py", f"{PROXY}/stack.py.tmpl"),
        ProjectFile(".env.example", f"{PROXY}/env.example.tmpl", fill=True),
        ProjectFile("images/proxy/Dockerfile", f"{PROXY}/proxy.Dockerfile.tmpl"),
        ProjectFile("images/proxy/reload.sh", f"{PROXY}/proxy-reload.sh.tmpl"),
        ProjectFile("config/proxy/nginx.conf", f"{PROXY}/proxy-nginx.conf.tmpl"),
        ProjectFile("images/app/Dockerfile", f"{PROXY}/app.Dockerfile.tmpl"),
        ProjectFile("images/app/app.py", f"{PROXY}/app.py.tmpl"),
        ProjectFile("images/app/worker.py", f"{PROXY}/worker.py.tmpl"),
        ProjectFile("images/redis/Dockerfile", f"{PROXY}/redis.Dockerfile.tmpl"),
    ),
    "curl http://127.0.0.1:8080/                # {\"visits\": 1, \"jobs_done\": 0}\n"
    "  curl -X POST -d hello http://127.0.0.1:8080/jobs   # the worker counts it",
)

TEMPLATES = {t.name: t for t in (STATIC, PROXY_APP)}
DEFAULT = STATIC.name


def listing() -> str:
    """The templates for people: name, what it makes, why to start from it."""
    width = max(len(name) for name in TEMPLATES)
    indent = " " * (width + 4)
    lines = []
    for t in TEMPLATES.values():
        default = " (the default)" if t.name == DEFAULT else ""
        lines += [f"  {t.name:<{width}}  {t.summary}{default}",
                  *textwrap.wrap(f"start here for {t.when}", 88, initial_indent=indent,
                                 subsequent_indent=indent)]
    return "\n".join(lines)
