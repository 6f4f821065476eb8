"""Counting one-time-code tries: atomic across real processes, on every cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts import try_counts
from accounts.models import SecurityEvent, TryCount
from accounts.tests.factories import TOTPDeviceFactory

ROOT = Path(__file__).resolve().parents[2]
START_DELAY = 8.0  # seconds for both children to import Django before they start

CHILD = """
import os, time
from django.test import RequestFactory
from accounts.models import User
from accounts.otp import OTPThrottled, verify_otp
user = User.objects.get(pk=int(os.environ["USER_PK"]))
time.sleep(max(0.0, float(os.environ["START_AT"]) - time.time()))
checked = 0
for _ in range(int(os.environ["TRIES"])):
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.9")
    try:
        verify_otp(request=request, user=user, code="000000", purpose="race")
        checked += 1
    except OTPThrottled:
        pass
print("checked", checked)
"""


def _database_env() -> dict[str, str]:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(name)}
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    return {"DATABASE_URL": f"{url}/{name}"}


@pytest.mark.django_db(transaction=True)
def test_two_processes_sending_wrong_codes_at_once_get_no_more_than_the_limit(
    settings,
) -> None:
    # Failed before on the embedded setup (SQLite, database cache): its incr() reads
    # and then writes, so both processes counted the same try and together checked
    # more wrong codes than the limit (72 and 130 where 60 were allowed).
    limit, tries = 60, 90
    settings.OTP_THROTTLE_LIMIT = limit
    user = TOTPDeviceFactory().user
    env = {
        **os.environ,
        **_database_env(),
        "DJANGO_SETTINGS_MODULE": "oneclick.settings",
        "OTP_THROTTLE_LIMIT": str(limit),
        "OTP_THROTTLE_WINDOW": "600",
        "USER_PK": str(user.pk),
        "TRIES": str(tries),
        "START_AT": str(time.time() + START_DELAY),
    }
    children = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", CHILD],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    checked = 0
    for child in children:
        output, _ = child.communicate(timeout=180)
        assert child.returncode == 0, output
        checked += int(output.split("checked")[-1])
    failed = SecurityEvent.objects.filter(user=user, kind=SecurityEvent.Kind.OTP_FAILED).count()
    assert (checked, failed) == (limit, limit)


@pytest.mark.django_db
def test_the_database_count_adds_one_per_try_and_clears() -> None:
    assert [try_counts.count_try_in_database("k", window=60) for _ in range(3)] == [1, 2, 3]
    assert try_counts.tries_in_database("k") == 3
    TryCount.objects.filter(key="k").delete()
    assert try_counts.tries_in_database("k") == 0
    assert try_counts.count_try_in_database("k", window=60) == 1


@pytest.mark.django_db
def test_an_expired_database_window_is_ignored_and_started_afresh() -> None:
    past = timezone.now() - timedelta(seconds=1)
    TryCount.objects.create(key="k", count=9, expires_at=past)
    assert try_counts.tries_in_database("k") == 0
    assert try_counts.count_try_in_database("k", window=60) == 1
    assert TryCount.objects.get(key="k").expires_at > timezone.now() + timedelta(seconds=50)


@pytest.mark.django_db
def test_expired_database_windows_of_other_keys_are_deleted() -> None:
    past = timezone.now() - timedelta(seconds=1)
    TryCount.objects.create(key="old", count=9, expires_at=past)
    TryCount.objects.create(key="live", count=2, expires_at=past + timedelta(seconds=60))
    try_counts.count_try_in_database("new", window=60)
    assert set(TryCount.objects.values_list("key", flat=True)) == {"live", "new"}


@pytest.mark.django_db
def test_a_window_started_by_another_process_meanwhile_is_counted_on(monkeypatch) -> None:
    real_add_one = try_counts._add_one
    calls = []

    def row_appears_after_the_update(key, **kwargs):
        calls.append(key)
        if len(calls) == 1:  # as if another process inserted it right after our UPDATE
            TryCount.objects.create(key=key, count=1, expires_at=kwargs["ends"])
            return False
        return real_add_one(key, **kwargs)

    monkeypatch.setattr(try_counts, "_add_one", row_appears_after_the_update)
    assert try_counts.count_try_in_database("k", window=60) == 2
    assert len(calls) == 2


@pytest.mark.django_db
def test_a_count_inside_a_callers_transaction_is_refused() -> None:
    # A rollback of the caller's transaction would take the counted try back.
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        try_counts.count_try_in_database("k", window=60)
