"""Scheduled jobs (`Stack(jobs=[Job(...)])`): each one a task of the server agent that
runs a one-off container of its service on its schedule (`planning.jobs`).

`scheduled.py`: `agent_tasks(stack)`, the jobs' contribution to the agent's config;
`listing.py`: the declared jobs with their last runs (`jobs.list`, `status`).
"""
