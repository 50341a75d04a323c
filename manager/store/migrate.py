"""Schema migrations (Alembic), applied at `svcbot run` and by `svcbot db upgrade`.

Alembic is imported only when there is something to migrate: a CLI call on an up-to-date database
reads `alembic_version` with one SELECT and skips the 0.4 s import. `HEAD` must name the newest
migration; a test compares it with Alembic's own view of the scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

__all__ = ["HEAD", "alembic_config", "current_revision", "head_revision", "is_current", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0003"  # the newest revision in migrations/versions
MIGRATION_LOCK = 0x5F5C_B07  # PostgreSQL advisory lock key held while migrating


def is_current(engine: Engine) -> bool:
    """Whether the database is at HEAD (one SELECT; False when it has no schema yet)."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return False
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return list(versions) == [HEAD]


def alembic_config(engine: Engine | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig  # noqa: PLC0415

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (default: the newest), in one transaction where possible."""
    if revision == "head" and is_current(engine):
        return
    from alembic import command  # noqa: PLC0415

    cfg = alembic_config()
    # On SQLite, take the write lock up front: two svcbots (or svcbot and a CLI call) migrating a new
    # file at once would otherwise fail with "database is locked" instead of one waiting its turn.
    # On PostgreSQL an advisory lock does the same; alembic then reads the version after the wait.
    with engine.execution_options(sqlite_immediate=True).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    return ScriptDirectory.from_config(alembic_config()).get_current_head()
