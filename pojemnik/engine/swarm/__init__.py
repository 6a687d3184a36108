"""The Docker boundary's Swarm part: a manager's services, configs, secrets, overlay
networks, nodes and tasks through the Docker SDK (`manager.SwarmEngine`, behind
`backend.SwarmBackend`), the SDK's service specs, and the project's lock on a Swarm."""
