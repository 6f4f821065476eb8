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


# A test that reaches the database (and so the database cache) asks for one of these.
DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


@pytest.fixture(autouse=True)
def _fresh_cache(request: pytest.FixtureRequest) -> None:
    """Throttle counters, rate limits, bans and halted markets must not leak between tests.

    Emptied before every test, the database cache too: a transactional test (the
    exchange emulator's, the browser's) commits its entries and the flush after it
    leaves the cache table alone, so login counters and recorded bans reached later
    tests (429s at sign-in, orders deferred by another test's ban).
    """
    if not isinstance(caches["default"], DatabaseCache):
        caches["default"].clear()
    elif request.node.get_closest_marker("django_db") or DB_FIXTURES & set(request.fixturenames):
        request.getfixturevalue("django_db_setup")
        with request.getfixturevalue("django_db_blocker").unblock():
            caches["default"].clear()
    # The pages' per-process copies (rendered rows and cards, the account curve) too.
    from trading.rows import clear_local

    clear_local()
