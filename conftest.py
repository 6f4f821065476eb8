"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django_q.conf import Conf


@pytest.fixture(autouse=True)
def _tasks_run_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    # django-q2 runs queued tasks in-process, so a test sees their effects.
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _static_files_from_source(settings) -> None:
    # The manifest storage needs `collectstatic` first; tests read the sources.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2's deliberate slowness would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Throttle counters and rate limits must not leak between tests.

    A database cache lives in the test database and is rolled back with it;
    Redis (the production setup, a database of its own in CI) is emptied.
    """
    if not isinstance(caches["default"], DatabaseCache):
        caches["default"].clear()
    # The pages' per-process copies (rendered rows and cards, the account curve) too.
    from trading.rows import clear_local

    clear_local()
