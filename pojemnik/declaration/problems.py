"""Problems found before anything is changed, each naming where it is and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import PojemnikError


@dataclass(frozen=True)
class Problem:
    where: str  # a file and field: ".env:3", "stack.py: services.proxy.ports[0]"
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}\n    fix: {self.fix}"


class InvalidStack(PojemnikError):
    """Raised with every problem at once, so the user fixes them in one go."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(dict.fromkeys(problems))  # one problem found by two checks
        count = len(self.problems)
        plural = "s" if count != 1 else ""
        head = f"{count} problem{plural} in the declaration; nothing was changed:"
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))
