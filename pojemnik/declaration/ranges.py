"""Propose a free address range: the fix of an overlap names one that really is free."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def free_range(near: IPNet, taken: Iterable[IPNet], prefix: int = 24) -> IPNet | None:
    """The first range of size `/prefix` (or `near`'s own, if smaller) after `near`, in
    the private block that holds it (10.0.0.0/8 otherwise), overlapping none of `taken`.
    None if the block is full (or `near` is IPv6: no proposal)."""
    if not isinstance(near, ipaddress.IPv4Network):
        return None
    prefix = max(prefix, near.prefixlen)
    block = next((b for b in PRIVATE if near.subnet_of(b)), PRIVATE[0])
    if prefix < block.prefixlen:
        return None
    busy = [t for t in taken if t.version == 4 and t.overlaps(block)]
    size = 2 ** (32 - prefix)
    count = 2 ** (prefix - block.prefixlen)
    start_address = near.network_address if near.subnet_of(block) else block.network_address
    start = (int(start_address) - int(block.network_address)) // size
    for step in range(1, count + 1):
        index = (start + step) % count
        candidate = ipaddress.IPv4Network((int(block.network_address) + index * size, prefix))
        if not any(candidate.overlaps(t) for t in busy):
            return candidate
    return None
