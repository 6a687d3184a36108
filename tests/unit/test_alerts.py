"""Alert channels declared (pure): each mistake named once with its fix, the password never
in a repr or a message, the webhook body that Slack/Discord/ntfy-style receivers read."""

from __future__ import annotations

import json
from dataclasses import replace

from stackbuilders import one

from pojemnik import Alerts, Stack
from pojemnik.agent.alerts.message import AlertMessage
from pojemnik.declaration.validate.stack import check_declaration

GOOD = Alerts(email_to=["admin@example.org"], smtp_host="smtp.example.org",
              smtp_user="me@example.org", smtp_password="s3cret-value",
              webhook="https://ntfy.example.org/topic")


def test_good_channels_pass_and_the_password_stays_out_of_the_repr(stack: Stack) -> None:
    assert check_declaration(replace(stack, alerts=GOOD)) == []
    assert "s3cret-value" not in repr(GOOD) and GOOD.channels() == ["email", "webhook"]


def test_each_mistake_is_named(stack: Stack) -> None:
    cases = {
        "alerts.smtp_host": replace(GOOD, smtp_host=""),
        "alerts.email_to": replace(GOOD, email_to=["admin"]),
        "alerts.smtp_port": replace(GOOD, smtp_port=70000),
        "alerts.smtp_password": replace(GOOD, smtp_password=""),
        "alerts.webhook": replace(GOOD, webhook="ftp://x/secret-token"),
    }
    for where, alerts in cases.items():
        problem = one(check_declaration(replace(stack, alerts=alerts)))
        assert where in problem.where, problem
        assert problem.fix
        assert "secret-token" not in str(problem)


def test_the_webhook_body_carries_the_text_under_the_common_keys() -> None:
    message = AlertMessage("demo", "open", "site app.example.org", "answers 502", "now")
    body = json.loads(message.webhook_body())
    assert body["text"] == body["content"] == body["message"] == message.text()
    assert body["title"] == "[demo] PROBLEM: site app.example.org"
    assert (body["state"], body["check"], body["project"]) == ("open", "site app.example.org",
                                                               "demo")
