"""Planning for the Swarm target: the services, configs and secrets a stack becomes on a
Swarm, the manager's observed state, the checks against it, the plan and its renderings."""
