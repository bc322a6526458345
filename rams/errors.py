"""The one user-facing error type: a single line naming the file and the problem."""

from __future__ import annotations


class RamsError(Exception):
    """An error a user can act on; ``str(err)`` is one line: ``<path>: <problem>``."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(problem.split())
        super().__init__(f"{self.path}: {self.problem}")
