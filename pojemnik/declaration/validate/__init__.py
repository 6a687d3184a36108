"""Checks of the declaration alone, before anything is observed: `stack.check_declaration`
(networks, ports, addresses, and each service through `services`), the Swarm target's
rules (`swarm`) and the firewall's (`firewall`). Each returns `Problem`s; none changes
anything."""
