"""A service's releases as JSON text, and back: the record a rollback reads.

Two texts per service: the record itself, and the values of environment variables whose
names look secret (`render.is_secret`: API_TOKEN, DB_PASSWORD; never `..._FILE`), which
the record holds only by name and which are kept beside the stack's secrets. The stack's
own secrets are files, so a spec names only their paths. Pure functions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from typing import Any

from ..declaration.model import Healthcheck, Limits, Port, Reload
from ..declaration.policy import StartFirst, StopFirst
from .logging_policy import LogSpec
from .releases import History, Release
from .render import is_secret
from .spec import Attachment, ContainerSpec, MountSpec

FORMAT = 1


def spec_to_data(spec: ContainerSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["update_kind"] = "start-first" if isinstance(spec.update, StartFirst) else "stop-first"
    return data


def spec_from_data(data: dict[str, Any]) -> ContainerSpec:
    """The spec as recorded; a field added to ContainerSpec since takes its default."""
    known = {f.name for f in fields(ContainerSpec)}
    values = {key: value for key, value in data.items() if key in known}
    update = data.get("update") or {}
    values.update(
        ports=[Port(**x) for x in data["ports"]],
        mounts=[MountSpec(**x) for x in data["mounts"]],
        networks=[Attachment(**x) for x in data["networks"]],
        standby=[Attachment(**x) for x in data.get("standby") or []],
        healthcheck=Healthcheck(**data["healthcheck"]) if data.get("healthcheck") else None,
        limits=Limits(**data["limits"]),
        reload=Reload(**data["reload"]) if data.get("reload") else None,
        update=(StartFirst(**update) if data.get("update_kind") == "start-first"
                else StopFirst(**update)),
        logging=LogSpec(**data["logging"]) if data.get("logging") else LogSpec(),
    )
    return ContainerSpec(**values)


def encode(history: History) -> tuple[str, str | None]:
    """The record, and the secret values (None: there are none)."""
    releases, hidden = [], {}
    for release in history.releases:
        env = release.spec.environment
        secret = {name: value for name, value in env.items() if is_secret(name, value)}
        public = {name: ("" if name in secret else value) for name, value in env.items()}
        data = {key: value for key, value in asdict(release).items()
                if key not in ("spec", "secrets_missing")}
        data["spec"] = spec_to_data(replace(release.spec, environment=public))
        data["secret_env"] = sorted(secret)
        releases.append(data)
        if secret:
            hidden[str(release.number)] = secret
    record = {"format": FORMAT, "service": history.service, "current": history.current,
              "releases": releases}
    if history.broken is not None:
        record["broken"] = history.broken
    return json.dumps(record, sort_keys=True), (json.dumps(hidden, sort_keys=True)
                                                 if hidden else None)


def decode(text: str, secrets_text: str | None) -> History:
    """Raises ValueError (or KeyError, TypeError) on a record it cannot read."""
    record = json.loads(text)
    hidden = json.loads(secrets_text) if secrets_text else {}
    releases = []
    for data in record["releases"]:
        spec = spec_from_data(data["spec"])
        values = hidden.get(str(data["number"]), {})
        names = data.get("secret_env") or []
        environment = {**spec.environment, **{n: values[n] for n in names if n in values}}
        releases.append(Release(
            number=int(data["number"]), deploy=int(data["deploy"]), when=str(data["when"]),
            who=str(data["who"]), image_id=str(data.get("image_id") or ""),
            tag=str(data["tag"]),
            identity=str(data["identity"]), spec=replace(spec, environment=environment),
            secrets_missing=tuple(n for n in names if n not in values)))
    current, broken = record.get("current"), record.get("broken")
    return History(str(record["service"]), tuple(releases),
                   int(current) if current is not None else None,
                   int(broken) if broken is not None else None)
