from __future__ import annotations

import pytest

from accounts.events import record_event
from accounts.models import SecurityEvent, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_users_sign_in_with_email_and_have_no_username() -> None:
    user = User.objects.create_user("Someone@EXAMPLE.com", "x-long-password-1")
    assert user.email == "Someone@example.com"
    assert not hasattr(user, "username") or user.username is None
    assert User.USERNAME_FIELD == "email"


def test_a_superuser_is_staff() -> None:
    admin = User.objects.create_superuser("admin@example.com", "x-long-password-1")
    assert admin.is_staff and admin.is_superuser


def test_a_user_needs_an_email() -> None:
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("", "x")


class TestSecurityEventsAreAppendOnly:
    @pytest.fixture
    def event(self) -> SecurityEvent:
        return record_event(user=UserFactory(), kind=SecurityEvent.Kind.LOGIN)

    def test_an_event_cannot_be_changed(self, event: SecurityEvent) -> None:
        event.kind = SecurityEvent.Kind.LOGOUT
        with pytest.raises(PermissionError):
            event.save()

    def test_an_event_cannot_be_deleted(self, event: SecurityEvent) -> None:
        with pytest.raises(PermissionError):
            event.delete()

    def test_bulk_update_and_delete_are_refused(self, event: SecurityEvent) -> None:
        with pytest.raises(PermissionError):
            SecurityEvent.objects.filter(pk=event.pk).update(kind="logout")
        with pytest.raises(PermissionError):
            SecurityEvent.objects.all().delete()
        assert SecurityEvent.objects.get(pk=event.pk).kind == "login"

    def test_events_outlive_their_user(self, event: SecurityEvent) -> None:
        assert event.user is not None
        event.user.delete()
        assert SecurityEvent.objects.filter(pk=event.pk).exists()


def test_an_event_records_ip_and_user_agent(rf) -> None:
    request = rf.get("/", REMOTE_ADDR="2001:db8::1", HTTP_USER_AGENT="A" * 500)
    event = record_event(
        user=None, kind=SecurityEvent.Kind.LOGIN_FAILED, request=request, email="x"
    )
    assert event.ip == "2001:db8::1"
    assert len(event.user_agent) == 300
    assert event.detail == {"email": "x"}
