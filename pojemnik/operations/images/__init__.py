"""Images: the Debian base made without a registry (`base`), the plan's images built in
parallel (`build`), and images built here sent to a host's engine (`push`) or to every
node of a Swarm (`every_node`), each skipped where the engine already has it."""
