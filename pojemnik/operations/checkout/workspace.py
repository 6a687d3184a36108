"""What the checkout holds, as the planner needs it: build-context hashes, the secrets
that exist (where the engine is), the content of watched config, and the config each
container was reloaded with. The filesystem half of observing; the engine's half is
`Engine.observe`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ...declaration.model import Stack
from ...hostfiles.local_state import LocalState
from ...hostfiles.secrets import SecretStore
from ...planning.spec import image_spec, secret_spec
from ...planning.state import Observed
from .hashing import context_hash, paths_hash


def context_hashes(stack: Stack, base_image_id: str) -> dict[str, str]:
    """Image name -> hash of everything its build takes (the base image's id included)."""
    hashes = {}
    for image in stack.images:
        spec = image_spec(stack, image.name)
        if Path(spec.context).is_dir():
            hashes[image.name] = context_hash(Path(spec.context), spec.dockerfile,
                                              spec.build_args, base_image_id)
    return hashes


def with_workspace(stack: Stack, observed: Observed, state: LocalState,
                   secrets: SecretStore) -> Observed:
    """The engine's observations completed with the checkout's (and the secrets that
    exist where the engine is)."""
    base = observed.images.get(stack.base_image)
    return replace(
        observed,
        context_hashes=context_hashes(stack, base.id if base else ""),
        secrets=secrets.present([secret_spec(stack, s) for s in stack.secrets]),
        config_hashes={s.name: paths_hash(stack.root, s.watched()) for s in stack.services
                       if s.reload is not None},
        applied_config=dict(state.applied_config),
    )
