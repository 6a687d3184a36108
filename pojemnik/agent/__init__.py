"""The server agent: the one small program a server runs on a schedule for pojemnik
(scheduled jobs, certificate renewal, scheduled backups, alert checks).

Standard library only, so a server runs it with its own `python3` as a zipapp
(`/usr/local/lib/pojemnik/pojemnik-agent.pyz`, built by `operations/server/agent.py`);
tests run it as `python3 -m pojemnik.agent`. The lowest layer: it imports nothing of
pojemnik outside this folder, and the other layers may import it (the schedule's parser,
the config's shape).

- `config.py`: the project's `agent.json`, read and checked;
- `schedule.py`: "hourly", "every 15m", a 5-field cron line -> systemd's `OnCalendar=`,
  a cron line, and "is it due" for the cron fallback (`tick`);
- `lock.py`: the project's deploy lock through the `docker` command, the protocol of
  `engine/lock.py`;
- `steps.py`: a task's commands and pipes under one timeout (the process group killed);
- `records.py`: each task's last run, with its backoff;
- `run.py`, `cli.py`: `run NAME`, `records [--json]`, `tick`, `check`, `incidents`;
- `alerts/`: the server's checks, the incidents they open and resolve, the channels;
- `served.py`: does the proxy serve the installed certificate (the renewal's last
  step, run as `python3 -c <its text>`).
"""
