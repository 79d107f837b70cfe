"""How a value the user gave is quoted back in a message: ``repr``, cut to a length a line can hold."""

from __future__ import annotations


def short_repr(value: object, limit: int = 60) -> str:
    """``repr(value)``, its end replaced by ``…`` past ``limit`` characters (a 100 KB name stays one line)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
