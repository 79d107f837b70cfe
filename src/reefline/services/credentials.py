"""Secrets of sign-in: argon2 password hashes, API tokens, session cookies and CSRF tokens.

Only hashes are stored: argon2 for passwords (slow on purpose), sha256 for tokens and cookies
(already 256 random bits, so a fast hash is enough and lookups stay an index hit).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "rl_"
# rl_<8 hex: shown in listings>_<43 urlsafe chars: 256 random bits>
_TOKEN = re.compile(r"rl_([0-9a-f]{8})_([A-Za-z0-9_-]{32,128})")

_hasher = PasswordHasher()  # argon2id, the library's default (RFC 9106 low-memory) parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if ``password`` matches; a malformed stored hash is a mismatch, never an error."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (rehash it on sign-in)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def burn_verify(password: str) -> None:
    """Spend the time of a real verification, for an unknown user: timing does not tell who exists."""
    verify_password(_dummy_hash(), password)


def generate_password() -> str:
    """A one-time password for a new account (128 random bits, typeable)."""
    return secrets.token_urlsafe(16)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str, b: str) -> bool:
    """Compare two secrets in constant time."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def new_token() -> tuple[str, str, str]:
    """A new API token: ``(clear, prefix, sha256 of the secret part)``; only the clear one is secret."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}{prefix}_{secret}", prefix, sha256_hex(secret)


def parse_token(clear: str) -> tuple[str, str] | None:
    """``(prefix, sha256 of the secret part)`` of a token in our format, or None for anything else."""
    match = _TOKEN.fullmatch(clear.strip())
    if match is None:
        return None
    return match.group(1), sha256_hex(match.group(2))


def new_session_secret() -> str:
    """A session cookie value (256 random bits)."""
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def check_csrf(expected: str, given: str | None) -> bool:
    """Whether a request's CSRF token (header or form field) is the session's, in constant time."""
    return bool(given) and same(expected, given or "")
