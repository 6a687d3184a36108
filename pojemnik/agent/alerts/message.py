"""An alert as it is sent: the email's subject and text, and the webhook's JSON body. Pure.

The webhook body carries the same text under the keys the common receivers read: `text`
(Slack, Mattermost, Rocket.Chat), `content` (Discord), `message` and `title` (Gotify);
and, for a program, `project`, `state` (open, resolved, test), `check` and `at` (ISO 8601).
"""

from __future__ import annotations

import json
from typing import NamedTuple


class AlertMessage(NamedTuple):
    project: str
    state: str  # open, resolved, test
    check: str  # what was checked: "site app.example.org", "disk /", "test"
    detail: str  # what was found, and what to do
    at: str  # ISO 8601

    def subject(self) -> str:
        word = {"open": "PROBLEM", "resolved": "RESOLVED", "flapping": "FLAPPING",
                "test": "TEST"}[self.state]
        return f"[{self.project}] {word}: {self.check}"

    def text(self) -> str:
        return f"{self.subject()}\n\n{self.detail}\n\n(at {self.at}, from pojemnik)"

    def webhook_body(self) -> bytes:
        text = self.text()
        return json.dumps({"text": text, "content": text, "message": text,
                           "title": self.subject(), "project": self.project,
                           "state": self.state, "check": self.check, "at": self.at,
                           "detail": self.detail}).encode()


def test_message(project: str, at: str) -> AlertMessage:
    return AlertMessage(project, "test", "test message",
                        "`invoke alerts.test` sent this through every configured channel: "
                        "alerts from this stack reach you here.", at)
