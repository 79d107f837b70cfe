"""The key that encrypts secrets at rest, and :class:`SecretBox`, which uses it (Fernet).

The key comes from, in this order: ``REEFLINE_SECRET_KEY`` (a Fernet key), the file named by
``REEFLINE_SECRET_KEY_FILE``, or ``secret.key`` in ``REEFLINE_HOME``, generated on first use
(mode 0600, created with a hard link so two processes starting at once end with the same key).
Several keys, one per line (or comma separated), rotate: the first encrypts, any decrypts.
A missing, unreadable or malformed key is a :class:`SecretKeyError` that says which and how to fix
it, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from reefline.services.home import ServerHome
from reefline.services.types import ServiceError

KEY_ENV = "REEFLINE_SECRET_KEY"
KEY_FILE_ENV = "REEFLINE_SECRET_KEY_FILE"
_KEY_HELP = (
    "a Fernet key: 32 url-safe base64-encoded bytes, as printed by `python -c "
    "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
)


class SecretKeyError(ServiceError):
    """The secrets key is missing, malformed, or not the one the secrets were encrypted with."""

    code = "secret_key"


class SecretBox:
    def __init__(self, keys: list[bytes], source: str) -> None:
        if not keys:
            raise SecretKeyError(f"no key in {source}: it must hold {_KEY_HELP}")
        fernets: list[Fernet] = []
        for i, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                which = f"key {i} of {source}" if len(keys) > 1 else source
                raise SecretKeyError(f"{which} is not a valid secrets key: it must be {_KEY_HELP}") from None
        self._fernet = MultiFernet(fernets)
        self.source = source  # where the key came from, for messages (never the key)

    @classmethod
    def from_env(cls, home: ServerHome | None = None, env: Mapping[str, str] | None = None) -> SecretBox:
        environ = os.environ if env is None else env
        if environ.get(KEY_ENV):
            return cls(_split(environ[KEY_ENV]), f"${KEY_ENV}")
        if environ.get(KEY_FILE_ENV):
            path = Path(environ[KEY_FILE_ENV]).expanduser()
            return cls(_read_key_file(path, f"${KEY_FILE_ENV} ({path})"), str(path))
        path = (home or ServerHome.from_env()).secret_key_file
        return cls(_key_file_created(path), str(path))

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str, what: str = "a secret") -> str:
        """The clear value; SecretKeyError (naming ``what``, never the value) when this key cannot."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretKeyError(
                f"cannot decrypt {what} with the key from {self.source}: it was encrypted with another "
                f"key (or the stored value is damaged); set {KEY_ENV} or {KEY_FILE_ENV} to the key it was "
                "written with, or set the secret again"
            ) from None


def _split(text: str) -> list[bytes]:
    return [
        part.strip().encode("ascii", "replace")
        for part in text.replace(",", "\n").splitlines()
        if part.strip()
    ]


def _read_key_file(path: Path, shown: str) -> list[bytes]:
    try:
        return _split(path.read_text(encoding="ascii", errors="replace"))
    except FileNotFoundError:
        raise SecretKeyError(f"the secrets key file {shown} does not exist") from None
    except OSError as exc:
        raise SecretKeyError(f"cannot read the secrets key file {shown}: {exc.strerror or exc}") from None


def _key_file_created(path: Path) -> list[bytes]:
    """The keys in ``path``, after creating it with a new key if it does not exist yet."""
    if not path.exists():
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-key-")  # mode 0600
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(Fernet.generate_key() + b"\n")
                    f.flush()
                    os.fsync(f.fileno())
                # A link never replaces: if another process made the file first, its key is kept.
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        except OSError as exc:
            raise SecretKeyError(
                f"cannot create the secrets key file {path}: {exc.strerror or exc}"
            ) from None
    return _read_key_file(path, str(path))
