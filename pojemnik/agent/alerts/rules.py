"""The firewall's drift, compared the same way by `fab firewall.apply` and by the agent on
the server: the rules pojemnik installed (`/etc/pojemnik/firewall/rules.v4`, in
`iptables-restore` form) against the loaded ones (`iptables-save -t filter`). Pure."""

from __future__ import annotations

from collections.abc import Mapping

INPUT_CHAIN = "POJEMNIK-INPUT"
DOCKER_CHAIN = "POJEMNIK-DOCKER"


def parse_save(text: str) -> dict[str, list[str]]:
    """`iptables-save -t filter` (or `iptables -S`, or a rules file) -> {chain: its rules,
    in order}."""
    chains: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(":"):
            chains.setdefault(line[1:].split()[0], [])
        elif line.startswith(("-N ", "-P ")):
            chains.setdefault(line.split()[1], [])
        elif line.startswith("-A "):
            chains.setdefault(line.split()[1], []).append(line)
    return chains


def hook_chain(live: Mapping[str, list[str]]) -> str:
    """Where POJEMNIK-DOCKER hangs: Docker's DOCKER-USER if Docker made it, else FORWARD."""
    return "DOCKER-USER" if "DOCKER-USER" in live else "FORWARD"


def drift(chains: Mapping[str, list[str]], live: Mapping[str, list[str]],
          family: str) -> list[str]:
    """How the live rules differ from the declared chains (empty: they match), one line
    each."""
    name = "IPv4" if family == "v4" else "IPv6"
    found = []
    for chain, wanted in chains.items():
        if chain not in live:
            found.append(f"{name}: chain {chain} is not loaded")
            continue
        have = live[chain]
        missing = [r for r in wanted if r not in have]
        extra = [r for r in have if r not in wanted]
        found += [f"{name}: missing: {r}" for r in missing]
        found += [f"{name}: not declared: {r}" for r in extra]
        if not missing and not extra and have != wanted:
            found.append(f"{name}: chain {chain} has the declared rules in another order")
    hooks = {"INPUT": INPUT_CHAIN, hook_chain(live): DOCKER_CHAIN}
    for chain, target in hooks.items():
        jump = f"-A {chain} -j {target}"
        rules = live.get(chain, [])
        if jump not in rules:
            found.append(f"{name}: {chain} does not jump to {target}")
        elif target == DOCKER_CHAIN and rules[0] != jump:
            found.append(f"{name}: {target} is not the first rule of {chain}")
    return found
