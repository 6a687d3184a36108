"""The agent's schedules: what people write, as systemd's OnCalendar= (checked by
systemd-analyze itself where it is installed), as cron, and "is it due" for `tick`."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta

import pytest

from pojemnik.agent.schedule import ScheduleError, cron_line, fired_between, on_calendar

CASES = {
    "hourly": ("*-*-* *:00:00", "0 * * * *"),
    "daily": ("*-*-* 00:00:00", "0 0 * * *"),
    "weekly": ("Mon *-*-* 00:00:00", "0 0 * * 1"),
    "monthly": ("*-*-01 00:00:00", "0 0 1 * *"),
    "every 15m": ("*-*-* *:00,15,30,45:00", "0,15,30,45 * * * *"),
    "every 6h": ("*-*-* 00,06,12,18:00:00", "0 0,6,12,18 * * *"),
    "every 20s": ("*-*-* *:*:00,20,40", None),
    "30 3 * * *": ("*-*-* 03:30:00", "30 3 * * *"),
    "*/20 8-9 * * mon-fri": ("Mon,Tue,Wed,Thu,Fri *-*-* 08,09:00,20,40:00",
                             "0,20,40 8,9 * * 1,2,3,4,5"),
    "0 12 * jan,jul 0": ("Sun *-01,07-* 12:00:00", "0 12 * 1,7 0"),
    "0 0 * * 7": ("Sun *-*-* 00:00:00", "0 0 * * 0"),
    "5 4 1,15 * *": ("*-*-01,15 04:05:00", "5 4 1,15 * *"),
    "  Daily ": ("*-*-* 00:00:00", "0 0 * * *"),
}


@pytest.mark.parametrize("text", sorted(CASES))
def test_a_schedule_in_systemd_and_cron(text: str) -> None:
    calendar, cron = CASES[text]
    assert on_calendar(text) == calendar
    assert cron_line(text) == cron


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("text", sorted(CASES))
def test_systemd_reads_each_calendar(text: str) -> None:
    result = subprocess.run(["systemd-analyze", "calendar", on_calendar(text)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Next elapse" in result.stdout


@pytest.mark.parametrize(("text", "said"), [
    ("", "an empty schedule"),
    ("nightly", "is not a schedule"),
    ("every 7m", "does not divide an hour evenly"),
    ("every 0s", "does not divide"),
    ("61 * * * *", "the minute field: '61' is not a number from 0 to 59"),
    ("* 24 * * *", "the hour field"),
    ("0 0 1 * mon", "restricts both the day of the month and the day of the week"),
    ("0 0 * * 5-1", "runs backwards"),
    ("*/0 * * * *", "a step of 0"),
    ("0 0 * foo *", "the month field"),
    ("0 0 * *", "is not a schedule"),
])
def test_a_schedule_that_does_not_parse_says_why(text: str, said: str) -> None:
    with pytest.raises(ScheduleError) as error:
        on_calendar(text)
    assert said in str(error.value)


def test_due_when_the_schedule_fired_in_between() -> None:
    at = datetime(2026, 3, 4, 3, 29, 30).astimezone()
    assert fired_between("30 3 * * *", at, at + timedelta(seconds=30))
    assert not fired_between("30 3 * * *", at, at + timedelta(seconds=29))
    later = at + timedelta(seconds=31)  # 03:30:01: that minute's run is in the past
    assert not fired_between("30 3 * * *", later, later + timedelta(minutes=58))
    assert fired_between("every 2s", at, at + timedelta(seconds=2))
    assert not fired_between("every 2s", at, at + timedelta(seconds=1))
    # A server asleep for a week runs a daily task once, not seven times: it is due.
    assert fired_between("daily", at - timedelta(days=7), at)
