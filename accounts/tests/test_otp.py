"""Checking one-time codes: single use, backup codes, shared-cache throttling."""

from __future__ import annotations

import contextlib

import pytest
from django.test import RequestFactory

from accounts.backup_codes import replace_backup_codes
from accounts.models import SecurityEvent, TOTPDevice, User
from accounts.otp import OTPThrottled, verify_otp
from accounts.tests.conftest import Authenticator

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_for(rf: RequestFactory):
    from django.contrib.sessions.backends.db import SessionStore

    def make(user: User):
        request = rf.post("/", REMOTE_ADDR="192.0.2.5", HTTP_USER_AGENT="pytest")
        request.session = SessionStore()
        request.user = user
        return request

    return make


def test_a_current_code_is_accepted_once(user, authenticator: Authenticator, request_for) -> None:
    code = authenticator.code()
    assert verify_otp(request=request_for(user), user=user, code=code, purpose="login")
    assert not verify_otp(request=request_for(user), user=user, code=code, purpose="login")


def test_an_older_code_is_refused_after_a_newer_one(user, authenticator, request_for) -> None:
    assert verify_otp(
        request=request_for(user), user=user, code=authenticator.code(offset_steps=1), purpose="x"
    )
    assert not verify_otp(
        request=request_for(user), user=user, code=authenticator.code(), purpose="x"
    )


def test_an_expired_code_is_refused(user, authenticator, request_for) -> None:
    old = authenticator.code(offset_steps=-3)
    assert not verify_otp(request=request_for(user), user=user, code=old, purpose="login")


@pytest.mark.parametrize(
    "junk", ["", "abc", "1234567", "12 34", "\uff11\uff12\uff13\uff14\uff15\uff16", "' OR 1=1 --"]
)
def test_malformed_codes_are_refused(user, authenticator, request_for, junk) -> None:
    assert not verify_otp(request=request_for(user), user=user, code=junk, purpose="login")


def test_a_successful_code_marks_the_session_verified(user, authenticator, request_for) -> None:
    request = request_for(user)
    verify_otp(request=request, user=user, code=authenticator.code(), purpose="login")
    assert request.session["otp_device_id"] == authenticator.device.persistent_id
    event = SecurityEvent.objects.get(kind="otp_verified")
    assert event.ip == "192.0.2.5" and event.user_agent == "pytest"


def test_another_users_code_is_refused(user, authenticator, request_for) -> None:
    from accounts.tests.factories import TOTPDeviceFactory

    other = TOTPDeviceFactory()
    assert not verify_otp(
        request=request_for(other.user), user=other.user, code=authenticator.code(), purpose="x"
    )


def test_a_backup_code_works_once(user, authenticator, request_for) -> None:
    codes = replace_backup_codes(user=user, count=3)
    assert verify_otp(request=request_for(user), user=user, code=codes[0], purpose="login")
    assert not verify_otp(request=request_for(user), user=user, code=codes[0], purpose="login")
    assert verify_otp(request=request_for(user), user=user, code=codes[1].lower(), purpose="login")
    assert SecurityEvent.objects.filter(kind="backup_code_used").count() == 2


def test_wrong_codes_are_throttled_even_for_a_right_code(
    user, authenticator, request_for, settings
):
    settings.OTP_THROTTLE_LIMIT = 3
    for _ in range(3):
        assert not verify_otp(request=request_for(user), user=user, code="000000", purpose="x")
    with pytest.raises(OTPThrottled) as excinfo:
        verify_otp(request=request_for(user), user=user, code=authenticator.code(), purpose="x")
    assert "Too many wrong codes" in str(excinfo.value)
    assert SecurityEvent.objects.filter(kind="otp_throttled").count() == 1
    assert SecurityEvent.objects.filter(kind="otp_failed").count() == 3


def test_codes_sent_at_once_are_throttled_as_if_sent_one_by_one(
    user, authenticator, request_for, settings, monkeypatch
) -> None:
    # Each request arrives while the one before is still checking its code (as many
    # sent at once do). Failed before: every one passed the throttle check before any
    # failure was counted, so 12 codes were tried where 3 are allowed.
    import django_otp

    settings.OTP_THROTTLE_LIMIT = 3
    real_verify = django_otp.verify_token
    tried: list[str] = []
    waiting = [f"{n:06d}" for n in range(1, 12)]

    def verify_while_others_arrive(user_, device_id, code):
        tried.append(code)
        if waiting:
            with contextlib.suppress(OTPThrottled):
                verify_otp(request=request_for(user), user=user, code=waiting.pop(), purpose="x")
        return real_verify(user_, device_id, code)

    monkeypatch.setattr(django_otp, "verify_token", verify_while_others_arrive)
    assert not verify_otp(request=request_for(user), user=user, code="000000", purpose="x")
    assert len(tried) == 3
    with pytest.raises(OTPThrottled):
        verify_otp(request=request_for(user), user=user, code=authenticator.code(), purpose="x")


def test_a_right_code_clears_the_count_of_wrong_ones(
    user, authenticator, request_for, settings
) -> None:
    settings.OTP_THROTTLE_LIMIT = 3
    for _ in range(2):
        assert not verify_otp(request=request_for(user), user=user, code="000000", purpose="x")
    assert verify_otp(request=request_for(user), user=user, code=authenticator.code(), purpose="x")
    for _ in range(2):  # three more tries are allowed again
        assert not verify_otp(request=request_for(user), user=user, code="000000", purpose="x")
    later = authenticator.code(offset_steps=1)  # each code works once
    assert verify_otp(request=request_for(user), user=user, code=later, purpose="x")


def test_the_throttle_is_per_user(user, authenticator, request_for, settings) -> None:
    from accounts.tests.factories import TOTPDeviceFactory

    settings.OTP_THROTTLE_LIMIT = 2
    other = TOTPDeviceFactory()
    for _ in range(2):
        verify_otp(request=request_for(other.user), user=other.user, code="000000", purpose="x")
    assert verify_otp(request=request_for(user), user=user, code=authenticator.code(), purpose="x")


def test_an_undecryptable_secret_fails_closed_and_is_logged(
    user, authenticator, request_for, settings
) -> None:
    from cryptography.fernet import Fernet

    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    assert not verify_otp(
        request=request_for(user), user=user, code=authenticator.code(), purpose="x"
    )
    assert SecurityEvent.objects.filter(kind="secret_unreadable").exists()


def test_the_totp_secret_is_encrypted_at_rest(user, totp_device: TOTPDevice) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM accounts_totpdevice WHERE id = %s", [totp_device.pk])
        stored = cursor.fetchone()[0]
    assert totp_device.key not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
