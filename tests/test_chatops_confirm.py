"""Confirmation buttons: signed, personal, short-lived, survive a restart."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chatops.commands.confirm import ConfirmError, Signer, load_or_create_key

KEY = b"k" * 32


def test_the_requester_confirms_what_was_asked() -> None:
    """The value round-trips to the same request for the person who asked, before expiry."""
    signer = Signer(KEY)
    value = signer.issue("restart", "web", "U1", "C1", now=1000.0)
    pending = signer.check(value, "U1", now=1100.0)
    assert (pending.verb, pending.service, pending.requester, pending.channel) == (
        "restart",
        "web",
        "U1",
        "C1",
    )


def test_someone_else_cannot_confirm() -> None:
    """Another user pressing the button is told who can confirm."""
    signer = Signer(KEY)
    value = signer.issue("stop", "db", "U1", "C1", now=1000.0)
    with pytest.raises(ConfirmError, match="only <@U1> can confirm"):
        signer.check(value, "U2", now=1000.0)


def test_an_expired_button_does_nothing() -> None:
    """After the TTL the button is refused with a reason."""
    signer = Signer(KEY, ttl=300)
    value = signer.issue("stop", "db", "U1", "C1", now=1000.0)
    with pytest.raises(ConfirmError, match="expired"):
        signer.check(value, "U1", now=1301.0)


@pytest.mark.parametrize("tamper", ["service", "signature", "garbage"])
def test_a_forged_value_is_refused(tamper: str) -> None:
    """Changing the request or the signature, or sending junk, is refused."""
    signer = Signer(KEY)
    value = signer.issue("restart", "web", "U1", "C1", now=1000.0)
    body, mac = value.rsplit(".", 1)
    if tamper == "service":
        other = Signer(KEY).issue("restart", "db", "U1", "C1", now=1000.0).rsplit(".", 1)[0]
        value = f"{other}.{mac}"
    elif tamper == "signature":
        value = f"{body}.{'0' * len(mac)}"
    else:
        value = "not-a-token"
    with pytest.raises(ConfirmError, match="not valid"):
        signer.check(value, "U1", now=1000.0)


def test_another_key_does_not_verify() -> None:
    """A button signed by another svcbot's key is not valid here."""
    value = Signer(b"a" * 32).issue("restart", "web", "U1", "C1")
    with pytest.raises(ConfirmError):
        Signer(b"b" * 32).check(value, "U1")


def test_the_key_is_private_and_stable(tmp_path: Path) -> None:
    """The key file is 0600 and the same key comes back after a restart."""
    first = load_or_create_key(tmp_path)
    assert load_or_create_key(tmp_path) == first and len(first) == 32
    assert stat.S_IMODE((tmp_path / "confirm.key").stat().st_mode) == 0o600
