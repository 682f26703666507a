"""API keys: a keys file of ``name:role:sha256``, checked in constant time.

A key is 32 random bytes (``secrets.token_urlsafe``), shown once when it is made and stored
only as its SHA-256. A plain hash suffices — no salt, no slow KDF — because the key is random
with 256 bits of entropy: there is no dictionary to attack, unlike a password. Every stored hash
is compared with :func:`hmac.compare_digest` and the loop never stops early, so the time taken
says nothing about which key (if any) nearly matched.

Roles: ``read`` may GET, ``write`` may also POST applications. The file is re-read when it
changes on disk, so ``fraudrings keys add`` / ``revoke`` take effect without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

ROLES = ("read", "write")
HEADER = "X-API-Key"
PREFIX = "frk_"
#: Longer presented keys are refused before hashing (a 64 KB header is no key).
MAX_KEY_LENGTH = 128
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
log = logging.getLogger("fraudrings.api")


class KeyFileError(ValueError):
    """The keys file is unreadable or malformed (one line, fit for the CLI)."""


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: str
    digest: str  # sha256 hex of the key

    def may(self, role: str) -> bool:
        return self.role == "write" or role == "read"


def default_keys_file() -> Path:
    env = os.environ.get("FRAUDRINGS_API_KEYS")
    if env:
        return Path(env)
    home = os.environ.get("FRAUDRINGS_HOME") or Path.home() / ".fraudrings"
    return Path(home) / "api-keys"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse(text: str, source: str = "keys file") -> list[ApiKey]:
    keys, names = [], set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if len(parts) != 3:
            raise KeyFileError(f"{source} line {number}: expected name:role:sha256")
        name, role, hexdigest = parts
        if not _NAME.match(name) or role not in ROLES or not _DIGEST.match(hexdigest):
            raise KeyFileError(f"{source} line {number}: bad name, role or sha256")
        if name in names:
            raise KeyFileError(f"{source} line {number}: key name {name!r} appears twice")
        names.add(name)
        keys.append(ApiKey(name, role, hexdigest))
    return keys


def read_keys(path: Path) -> list[ApiKey]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None
    return parse(text, str(path))


def _write(path: Path, keys: list[ApiKey]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# fraudrings API keys: name:role:sha256 (the keys themselves are never stored)\n"
    body += "".join(f"{k.name}:{k.role}:{k.digest}\n" for k in keys)
    partial = path.with_name(path.name + ".partial")
    # created 0600: the hashes are not secrets, but nobody else needs to read or swap them
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
    partial.replace(path)


def add_key(path: Path, name: str, role: str) -> str:
    """Make a new key, store its hash, and return the key (the only time it is seen)."""
    if not _NAME.match(name):
        raise KeyFileError(f"key name {name!r}: letters, digits, '.', '_' or '-', up to 64")
    if role not in ROLES:
        raise KeyFileError(f"role {role!r}: choose one of {', '.join(ROLES)}")
    keys = read_keys(path)
    if any(k.name == name for k in keys):
        raise KeyFileError(f"a key named {name!r} exists: revoke it first")
    key = PREFIX + secrets.token_urlsafe(32)
    _write(path, [*keys, ApiKey(name, role, digest(key))])
    return key


def revoke_key(path: Path, name: str) -> bool:
    keys = read_keys(path)
    kept = [k for k in keys if k.name != name]
    if len(kept) == len(keys):
        return False
    _write(path, kept)
    return True


class KeyStore:
    """The keys of one file, re-read when its modification time or size changes."""

    def __init__(self, path: Path | None = None, keys: list[ApiKey] | None = None) -> None:
        self.path = path
        self._keys: list[ApiKey] = list(keys or [])
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        if path is not None:
            self._refresh()

    def _refresh(self) -> None:
        assert self.path is not None
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, -1)
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._keys = read_keys(self.path) if stamp[1] >= 0 else []
                except KeyFileError as exc:
                    # fail closed: a broken edit may have been meant to revoke a key
                    log.error("API keys refused until the file is fixed: %s", exc)
                    self._keys = []
                self._stamp = stamp

    @property
    def keys(self) -> list[ApiKey]:
        if self.path is not None:
            self._refresh()
        return self._keys

    def identify(self, presented: str | None) -> ApiKey | None:
        """The key that matches, compared against every stored hash in constant time."""
        if not presented or len(presented) > MAX_KEY_LENGTH:
            return None
        wanted = digest(presented)
        found = None
        for key in self.keys:
            if hmac.compare_digest(key.digest, wanted):
                found = key
        return found
