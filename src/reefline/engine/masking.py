"""Secret values replaced by ``****`` in what a job prints, before any of it is stored or shown.

:class:`SecretMasker` holds the values of one run's secrets. ``mask_line`` masks one whole text;
:meth:`SecretMasker.stream` gives a :class:`MaskStream` for text that arrives in pieces, which holds
back the longest tail that could still become a secret until the next piece (or ``flush``), so a
secret split across two writes never gets out in clear.

Values shorter than :data:`MIN_LENGTH` characters are not masked: masking ``1`` or ``on`` would
garble every log and tell a reader the value anyway. A multi-line value is masked whole and also
line by line, since logs are read a line at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "****"
MIN_LENGTH = 3


class SecretMasker:
    def __init__(self, values: Iterable[str]) -> None:
        found: set[str] = set()
        for value in values:
            found.add(value)
            found.update(part.rstrip("\r") for part in value.split("\n"))
        # Longest first: at each position the regex takes the first alternative that matches.
        self.values: tuple[str, ...] = tuple(
            sorted((v for v in found if len(v) >= MIN_LENGTH), key=lambda v: (-len(v), v))
        )
        self._pattern = re.compile("|".join(map(re.escape, self.values))) if self.values else None
        self._firsts = frozenset(v[0] for v in self.values)
        self.longest = len(self.values[0]) if self.values else 0

    def __bool__(self) -> bool:
        return self._pattern is not None

    def mask_line(self, text: str) -> str:
        """``text`` with every occurrence of every secret replaced by ``****``."""
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def stream(self) -> MaskStream:
        return MaskStream(self)

    def partial_start(self, text: str, start: int) -> int:
        """The first index ``i >= start`` where ``text[i:]`` is a proper prefix of a secret, else len."""
        end = len(text)
        for i in range(max(start, end - self.longest + 1), end):
            if text[i] not in self._firsts:
                continue
            tail = text[i:]
            if any(len(v) > len(tail) and v.startswith(tail) for v in self.values):
                return i
        return end


class MaskStream:
    """Masks one stream of text pieces: ``feed`` returns what is safe to show now, ``flush`` the rest."""

    def __init__(self, masker: SecretMasker) -> None:
        self._masker = masker
        self._held = ""

    @property
    def holding(self) -> bool:
        return bool(self._held)

    def feed(self, chunk: str) -> str:
        masker = self._masker
        if masker._pattern is None:
            return chunk
        text = self._held + chunk
        hold = masker.partial_start(text, 0)
        out: list[str] = []
        pos = 0
        for match in masker._pattern.finditer(text):
            if match.start() >= hold:
                break
            # Starting before ``hold``, the match cannot grow with more text: it is final.
            out.append(text[pos : match.start()])
            out.append(MASK)
            pos = match.end()
            if pos > hold:
                hold = masker.partial_start(text, pos)
        out.append(text[pos:hold])
        self._held = text[hold:]
        return "".join(out)

    def flush(self) -> str:
        """The held-back tail, masked (the stream ended: it can no longer become a secret)."""
        held, self._held = self._held, ""
        return self._masker.mask_line(held)
