"""Scheduled jobs: a command of a service the server runs on a schedule, each time in a
new one-off container of that service (like `invoke run`), through the server agent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """`Job("clearsessions", service="app", command="python3 manage.py clearsessions",
    schedule="daily")`. `schedule`: "hourly", "daily", "weekly", "monthly", "every 15m"
    or a 5-field cron line (the server's local time). `timeout`: seconds before the run
    is killed and counted failed. `lock_wait`: seconds it waits for a deploy to finish
    before the run fails (it never runs during one)."""

    name: str
    service: str
    command: str
    schedule: str
    timeout: float = 3600.0
    lock_wait: float = 600.0
