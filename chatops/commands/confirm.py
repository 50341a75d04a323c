"""Confirmation of dangerous commands (stop, restart): signed, personal, short-lived.

The Confirm button carries the whole request in its value, signed with a key only svcbot knows, so
nothing has to be remembered between the question and the answer (a svcbot restarted in between
still understands the button), nobody can forge a value that restarts something else, only the
person who asked can confirm, and an old button does nothing once it has expired. That a request is
confirmed only once is the idempotency store's job (the button's action is claimed before running).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ConfirmError", "Pending", "Signer", "load_or_create_key"]

KEY_FILE = "confirm.key"
DEFAULT_TTL = 300.0


class ConfirmError(Exception):
    """The button cannot be honoured; the message says why, for the person who pressed it."""


@dataclass(frozen=True)
class Pending:
    verb: str
    service: str
    requester: str
    channel: str
    expires: float  # epoch seconds
    nonce: str


class Signer:
    def __init__(self, key: bytes, ttl: float = DEFAULT_TTL) -> None:
        if len(key) < 16:
            raise ValueError("confirmation key too short")
        self._key = key
        self.ttl = ttl

    def issue(self, verb: str, service: str, requester: str, channel: str, now: float | None = None) -> str:
        pending = Pending(
            verb, service, requester, channel, (now or time.time()) + self.ttl, secrets.token_hex(8)
        )
        body = base64.urlsafe_b64encode(json.dumps(asdict(pending), separators=(",", ":")).encode()).decode()
        return f"{body}.{self._mac(body)}"

    def check(self, value: str, presser: str, now: float | None = None) -> Pending:
        """The request behind a button, if `presser` may confirm it now; else ConfirmError."""
        body, _, mac = value.rpartition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            raise ConfirmError("this button is not valid")
        try:
            pending = Pending(**json.loads(base64.urlsafe_b64decode(body.encode())))
        except (ValueError, TypeError) as exc:
            raise ConfirmError("this button is not valid") from exc
        if presser != pending.requester:
            raise ConfirmError(f"only <@{pending.requester}> can confirm this")
        if (now or time.time()) > pending.expires:
            raise ConfirmError("this confirmation has expired; run the command again")
        return pending

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]


def load_or_create_key(state_dir: Path) -> bytes:
    """The signing key in state_dir (mode 0600), made on first use so buttons survive restarts."""
    path = state_dir / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    return key
