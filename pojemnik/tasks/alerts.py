"""`alerts.test`: a test message through every channel `Stack(alerts=...)` declares."""

from __future__ import annotations

from invoke import Context, Exit, task

from ..console import say
from .context import declared


@task
def test(c: Context) -> None:
    """Send a test message through every configured alert channel (email, webhook) and say
    which worked; fails (exit 1) if any did not."""
    from ..agent.alerts.message import test_message
    from ..declaration.problems import InvalidStack
    from ..operations.records.history import now
    from ..operations.upkeep.alert_channels import send_all

    stack, problems = declared(c)
    if problems:
        raise Exit(str(InvalidStack(problems)), code=2)
    if stack.alerts is None or not stack.alerts.channels():
        raise Exit(f"alerts.test: {stack.source} declares no alert channel: add "
                   "Stack(alerts=Alerts(email_to=[...], smtp_host=..., webhook=...)) (see "
                   "docs/guides/alerts.md)", code=2)
    results = send_all(stack.alerts, test_message(stack.project, now()))
    for sent in results:
        say(f"{sent.channel}: {'sent' if sent.ok else 'FAILED: ' + sent.detail}")
    failed = [s for s in results if not s.ok]
    if failed:
        raise Exit(f"alerts.test: {len(failed)} of {len(results)} channel(s) failed", code=1)
