"""Two environments of one declaration compared: their settings, and the services,
networks and volumes they render to (as the Compose export writes them). Pure.

Each environment's own project name is written `<project>` in the rendering, so the diff
shows what differs in the declaration, not the namespace every name carries.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from ..declaration.environments import shown
from ..declaration.model import Stack
from ..declaration.settings import Settings
from .compose import compose_document, to_yaml
from .render import is_secret

MASK = "********"


@dataclass(frozen=True)
class SettingChange:
    name: str
    left: str  # "" and origin "-": not set there
    left_origin: str
    right: str
    right_origin: str


@dataclass(frozen=True)
class EnvironmentDiff:
    left: str  # environment names ("": the default one)
    right: str
    settings: list[SettingChange]
    rendered: list[str]  # a unified diff of the rendered declarations

    def __bool__(self) -> bool:
        return bool(self.settings or self.rendered)


def _value(settings: Settings, name: str) -> tuple[str, str]:
    if name not in settings.values:
        return "", "-"
    value = settings.values[name]
    return (MASK if value and is_secret(name, value) else value), settings.where(name)


def setting_changes(left: Settings, right: Settings) -> list[SettingChange]:
    """Every setting whose value differs (secret-looking values masked, never shown)."""
    changes = []
    for name in sorted({*left.values, *right.values}):
        if left.values.get(name) == right.values.get(name) and (name in left.values) == (
                name in right.values):
            continue
        changes.append(SettingChange(name, *_value(left, name), *_value(right, name)))
    return changes


def rendered(stack: Stack) -> list[str]:
    """Rendered as if both had one project: only what the declarations differ in shows."""
    return to_yaml(compose_document(replace(stack, project="<project>"))).splitlines()


def environment_diff(left: tuple[str, Settings, Stack],
                     right: tuple[str, Settings, Stack]) -> EnvironmentDiff:
    (left_name, left_settings, left_stack), (right_name, right_settings, right_stack) = (
        left, right)
    lines = list(difflib.unified_diff(rendered(left_stack), rendered(right_stack),
                                      fromfile=f"{shown(left_name)} ({left_stack.project})",
                                      tofile=f"{shown(right_name)} ({right_stack.project})",
                                      lineterm=""))
    return EnvironmentDiff(left_name, right_name, setting_changes(left_settings,
                                                                  right_settings), lines)


def as_dict(diff: EnvironmentDiff) -> dict[str, object]:
    return {"left": diff.left, "right": diff.right,
            "settings": [{"name": c.name, "left": c.left, "left_origin": c.left_origin,
                          "right": c.right, "right_origin": c.right_origin}
                         for c in diff.settings],
            "rendered": diff.rendered}


def refresh_problems(source: str, target: str, overwrite_production: bool) -> list[str]:
    """A refresh copies from `source` into `target` (environment names, "": the default
    one, production): never into production unless asked by name, never onto itself."""
    if source == target:
        return [f"--source is {shown(source)}, the environment being refreshed: choose "
                "another (POJEMNIK_ENV names the one refreshed)"]
    if target == "" and not overwrite_production:
        return [f"this would overwrite the default environment's (production's) database "
                f"with {shown(source)}'s; set POJEMNIK_ENV to the environment to refresh "
                "(e.g. POJEMNIK_ENV=staging), or pass --overwrite-production if that is "
                "really meant"]
    return []
