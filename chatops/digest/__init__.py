"""The weekly digest and release notes in Slack: Block Kit (`blocks`), buttons (`buttons`), posting each
period once (`post`), the APScheduler jobs (`schedule`, the only importer of apscheduler), the `svcbot
digest` verb (`cli`) and release announcements (`release_post`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manager.core.lazy import lazy_exports

if TYPE_CHECKING:
    from chatops.digest.buttons import DigestButtons
    from chatops.digest.cli import add_options, run_digest
    from chatops.digest.post import DigestPoster, owner_name
    from chatops.digest.release_post import ReleaseAnnouncer
    from chatops.digest.schedule import DigestScheduler

_EXPORTS = {
    "DigestButtons": "buttons",
    "DigestPoster": "post",
    "DigestScheduler": "schedule",
    "ReleaseAnnouncer": "release_post",
    "add_options": "cli",
    "owner_name": "post",
    "run_digest": "cli",
}
__all__ = [
    "DigestButtons",
    "DigestPoster",
    "DigestScheduler",
    "ReleaseAnnouncer",
    "add_options",
    "owner_name",
    "run_digest",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
