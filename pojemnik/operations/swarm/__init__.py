"""The Swarm target: `deploy` (validate, observe the manager, check, plan, apply, wait
until each service converged and its tasks are spread) and `down` on a Docker Swarm.
`deploy` and `teardown` are the entry points; the underscored modules are their helpers."""
