"""The allow-list (the whitelist approach): which container images and executors a pipeline may use.

A :class:`Policy` comes from the project's config on a laptop (absent: allow everything) or from a
team's row on a server (absent: deny, but for the sandboxed ``local`` executor). The linter checks
a pipeline against it, so a denied image is a located diagnostic before anything runs.

Image patterns:

- ``busybox`` allows every tag of ``busybox``; ``busybox:1.36`` only that tag; a name written
  without a tag is ``:latest``.
- ``*`` matches within one path segment (``registry.example/team/*`` allows
  ``registry.example/team/app:2`` but not ``registry.example/team/sub/app``); ``**`` crosses ``/``;
  ``?`` is one character. Nothing else is special.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

MAX_PATTERNS = 200
MAX_PATTERN_LENGTH = 255
DEFAULT_SERVER_EXECUTORS = ("local",)
_EXECUTOR_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_PATTERN_CHARS = re.compile(r"^[A-Za-z0-9._/:@*?-]+$")


class PolicyError(ValueError):
    """A policy as written is malformed; the message names the field."""


@dataclass(frozen=True)
class Policy:
    """``images`` / ``executors``: None allows any; a tuple allows only what it lists.

    ``source`` names where the rules come from, for messages: "project config .reefline/config.yaml",
    "team 'ml'"."""

    images: tuple[str, ...] | None
    executors: tuple[str, ...] | None
    source: str

    @classmethod
    def allow_all(cls, source: str = "no policy") -> Policy:
        return cls(None, None, source)

    @classmethod
    def server_default(cls, team: str) -> Policy:
        """A team that never set a policy: no image, only the (sandboxed) local executor."""
        return cls((), DEFAULT_SERVER_EXECUTORS, f"team '{team}', default policy")

    @classmethod
    def build(cls, images: Iterable[str] | None, executors: Iterable[str] | None, source: str) -> Policy:
        """A checked policy: every pattern and name well-formed, duplicates dropped (order kept)."""
        return cls(
            None if images is None else _checked(images, "images", _check_pattern),
            None if executors is None else _checked(executors, "executors", _check_executor),
            source,
        )

    @classmethod
    def from_mapping(cls, data: Any, source: str, where: str = "policy") -> Policy:
        """``{images: [...], executors: [...]}``; a missing key allows any. ``where`` prefixes errors."""
        if data is None:
            return cls.allow_all(source)
        if not isinstance(data, Mapping):
            raise PolicyError(f"{where}: expected a mapping with `images` and `executors`")
        unknown = sorted(str(k) for k in data if k not in ("images", "executors"))
        if unknown:
            raise PolicyError(f"{where}: unknown key {unknown[0]!r} (known: images, executors)")
        lists: dict[str, list[str] | None] = {}
        for key in ("images", "executors"):
            value = data.get(key)
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            ):
                raise PolicyError(f"{where}.{key}: expected a list of strings")
            lists[key] = value
        try:
            return cls.build(lists["images"], lists["executors"], source)
        except PolicyError as exc:
            raise PolicyError(f"{where}.{exc}") from None

    def image_allowed(self, image: str) -> bool:
        if self.images is None:
            return True
        name = normalized_image(image)
        return any(p.fullmatch(name) for p in self._image_patterns)

    def executor_allowed(self, executor: str) -> bool:
        return self.executors is None or executor in self.executors

    def image_denial(self, image: str) -> str:
        return f"image '{image}' is not in the allow-list ({self.source})"

    def executor_denial(self, executor: str) -> str:
        return f"executor '{executor}' is not in the allow-list ({self.source})"

    def hint_images(self) -> str:
        if not self.images:
            return "no image is allowed; ask for the image to be added to the allow-list"
        return f"allowed images: {', '.join(self.images)}"

    def hint_executors(self) -> str:
        if not self.executors:
            return "no executor is allowed"
        return f"allowed executors: {', '.join(self.executors)}"

    @cached_property
    def _image_patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(_pattern_regex(p) for p in self.images or ())


def normalized_image(image: str) -> str:
    """``busybox`` → ``busybox:latest``; a name with a tag or digest stays as it is."""
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A pattern as a regex over normalized names; a pattern without a tag allows every tag."""
    last = pattern.rsplit("/", 1)[-1]
    any_tag = "@" not in pattern and ":" not in last
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    if any_tag:
        out.append("(?::[^/]+|@.+)")
    return re.compile("".join(out))


def _check_pattern(pattern: str) -> None:
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        raise PolicyError(f"an image pattern has 1 to {MAX_PATTERN_LENGTH} characters, got {len(pattern)}")
    if not _PATTERN_CHARS.match(pattern):
        raise PolicyError(
            f"image pattern {pattern!r}: use letters, digits, '.', '_', '-', '/', ':', '@' and the "
            "wildcards '*', '**', '?'"
        )


def _check_executor(name: str) -> None:
    if not _EXECUTOR_NAME.match(name):
        raise PolicyError(f"executor {name!r}: an executor name is lowercase letters, digits, '_' and '-'")


def _checked(values: Iterable[str], key: str, check: Any) -> tuple[str, ...]:
    kept: dict[str, None] = {}
    for value in values:
        try:
            check(value)
        except PolicyError as exc:
            raise PolicyError(f"{key}: {exc}") from None
        kept[value] = None
    if len(kept) > MAX_PATTERNS:
        raise PolicyError(f"{key}: at most {MAX_PATTERNS} entries, got {len(kept)}")
    return tuple(kept)
