from __future__ import annotations


class DefaultDatabaseRouter:
    """Keep every app but the channel layer's on the default database."""

    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool | None:
        if app_label == "channels_lite":
            return None  # channels_lite's own router decides
        return db == "default"
