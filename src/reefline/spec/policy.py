"""The allow-list (the whitelist approach): which container images and executors a pipeline may use.

A :class:`Policy` comes from the project's config on a laptop (absent: allow everything) or from a
team's row on a server (absent: deny, but for the sandboxed ``local`` executor). The linter checks
a pipeline against it, so a denied image is a located diagnostic before anything runs.

Image patterns:

- ``busybox`` allows every tag of ``busybox``; ``busybox:1.36`` only that tag; a name written
  without a tag is ``:latest``.
- ``*`` matches within one path segment (``registry.example/team/*`` allows
  ``registry.example/team/app:2`` but not ``registry.example/team/sub/app``); ``?`` is one
  character; ``**``, as a whole segment, is any number of segments (``registry.example/**``).
  Nothing else is special.

Matching takes time linear in the name per pattern segment (no regex backtracking), so neither a
pattern nor a pipeline's image name can make a push slow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_PATTERNS = 200
MAX_PATTERN_LENGTH = 255
MAX_IMAGE_LENGTH = 512
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
        if len(image) > MAX_IMAGE_LENGTH:  # no engine takes such a name; also bounds the matching
            return False
        name = normalized_image(image).split("/")
        return any(_matches(_segments(p), name) for p in self.images)

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


def normalized_image(image: str) -> str:
    """``busybox`` → ``busybox:latest``; a name with a tag or digest stays as it is."""
    if "@" in image:
        return image
    last = image.rsplit("/", 1)[-1]
    return image if ":" in last else f"{image}:latest"


def _segments(pattern: str) -> list[str]:
    """A pattern's segments; a last one without a tag or digest allows every tag (``name:*``)."""
    parts = pattern.split("/")
    last = parts[-1]
    if last != "**" and ":" not in last and "@" not in pattern:
        parts[-1] = last + "\0"  # marks "any tag or digest", see _segment_matches
    return parts


def _matches(pattern: list[str], name: list[str]) -> bool:
    """Segment lists; ``**`` is zero or more whole segments. Memoized on (pattern, name) positions:
    at most len(pattern) * len(name) states, however many ``**`` there are."""
    memo: dict[tuple[int, int], bool] = {}

    def at(i: int, j: int) -> bool:
        key = (i, j)
        if key not in memo:
            if i == len(pattern):
                found = j == len(name)
            elif pattern[i] == "**":
                found = at(i + 1, j) or (j < len(name) and at(i, j + 1))
            else:
                found = j < len(name) and _segment_matches(pattern[i], name[j]) and at(i + 1, j + 1)
            memo[key] = found
        return memo[key]

    return at(0, 0)


def _segment_matches(pattern: str, text: str) -> bool:
    if pattern.endswith("\0"):
        base = pattern[:-1]
        return any(sep in text and _glob(base, text[: text.index(sep)]) for sep in (":", "@")) or _glob(
            base, text
        )
    return _glob(pattern, text)


def _glob(pattern: str, text: str) -> bool:
    """``*`` and ``?`` within one segment, greedy with one backtrack point: O(len(pattern) * len(text))."""
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] in ("?", text[t]) and pattern[p] != "*":
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, t, p + 1
        elif star >= 0:
            mark += 1
            p, t = star + 1, mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def _check_pattern(pattern: str) -> None:
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH:
        raise PolicyError(f"an image pattern has 1 to {MAX_PATTERN_LENGTH} characters, got {len(pattern)}")
    if not _PATTERN_CHARS.match(pattern):
        raise PolicyError(
            f"image pattern {pattern!r}: use letters, digits, '.', '_', '-', '/', ':', '@' and the "
            "wildcards '*', '**', '?'"
        )
    if any("**" in part and part != "**" for part in pattern.split("/")):
        raise PolicyError(f"image pattern {pattern!r}: '**' stands alone between '/' (`registry.example/**`)")


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
