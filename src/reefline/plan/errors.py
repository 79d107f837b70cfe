"""The one error the planner raises for user input."""

from __future__ import annotations


class PlanError(ValueError):
    """The spec is valid on its own but cannot be turned into a plan (e.g. with these params).

    ``path`` is the field path of what caused it (``("jobs", "train", "outputs", "model", "path")``)
    when there is one, so the caller can report it at its place in the file; ``code`` and ``hint``
    are those of that diagnostic.
    """

    def __init__(
        self,
        message: str,
        *,
        path: tuple[str | int, ...] = (),
        code: str = "RL106",
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.code = code
        self.hint = hint
