"""The two-factor pages, step-up, the security log and the IP whitelist page."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail
from django.test import Client

from accounts.models import BackupCode, SecurityEvent, TOTPDevice, User
from accounts.stepup import STEPUP_SESSION_KEY
from accounts.tests.conftest import Authenticator, password_login, start_setup
from accounts.tests.factories import TOTPDeviceFactory, UserFactory
from accounts.totp import totp_code

pytestmark = pytest.mark.django_db


def secret_on(page: str) -> str:
    match = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert match, "secret not shown as text"
    return match.group(1)


def hex_key(base32: str) -> str:
    import base64

    return base64.b32decode(base32).hex()


@pytest.fixture
def signed_in(client: Client, user: User) -> Client:
    password_login(client, user)
    return client


class TestEnrolment:
    def test_it_shows_a_qr_code_and_the_secret_as_text(self, signed_in: Client) -> None:
        page = start_setup(signed_in)
        assert "<svg" in page
        assert len(secret_on(page)) == 32

    def test_opening_the_page_makes_no_secret(self, signed_in: Client, user: User) -> None:
        # Test fails on main before this change: a GET created the device and its secret.
        for _ in range(2):
            page = signed_in.get("/account/2fa/setup/").content.decode()
        assert "Show the QR code" in page and "totp-secret" not in page
        assert not TOTPDevice.objects.filter(user=user).exists()

    def test_a_code_without_a_started_enrolment_turns_nothing_on(
        self, signed_in: Client, user: User
    ) -> None:
        response = signed_in.post("/account/2fa/setup/", {"code": "123456"})
        assert response.status_code == 200 and "Show the QR code" in response.content.decode()
        assert not TOTPDevice.objects.filter(user=user).exists()

    def test_the_secret_stays_the_same_across_reloads(self, signed_in: Client) -> None:
        first = secret_on(start_setup(signed_in))
        second = secret_on(start_setup(signed_in))
        assert first == second
        assert TOTPDevice.objects.count() == 1

    def test_a_first_code_turns_it_on_and_shows_backup_codes_once(
        self, signed_in: Client, user: User, django_capture_on_commit_callbacks
    ) -> None:
        key = hex_key(secret_on(start_setup(signed_in)))
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_in.post("/account/2fa/setup/", {"code": totp_code(key)})
        page = response.content.decode()
        codes = re.findall(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){5})</code>", page)
        assert len(codes) == 10
        assert TOTPDevice.objects.get(user=user).confirmed
        assert BackupCode.objects.filter(device__user=user).count() == 10
        assert SecurityEvent.objects.filter(user=user, kind="2fa_enabled").exists()
        assert any("Two-factor authentication turned on" in m.subject for m in mail.outbox)
        # Shown once: the overview only counts them.
        overview = signed_in.get("/account/2fa/").content.decode()
        assert codes[0] not in overview and "Backup codes left: <strong>10</strong>" in overview

    def test_a_wrong_first_code_is_refused(self, signed_in: Client, user: User) -> None:
        start_setup(signed_in)
        response = signed_in.post("/account/2fa/setup/", {"code": "123456"})
        assert response.status_code == 200
        assert "That code is not right" in response.content.decode()
        assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    def test_a_malformed_first_code_gets_a_clear_error(self, signed_in: Client) -> None:
        start_setup(signed_in)
        response = signed_in.post("/account/2fa/setup/", {"code": "12ab"})
        assert "The code is 6 digits." in response.content.decode()

    def test_the_enrolment_code_cannot_be_used_again_to_log_in(
        self, client: Client, user: User
    ) -> None:
        password_login(client, user)
        key = hex_key(secret_on(start_setup(client)))
        code = totp_code(key)
        client.post("/account/2fa/setup/", {"code": code})
        client.post("/account/logout/")
        password_login(client, user)
        response = client.post("/account/2fa/verify/", {"code": code})
        assert response.status_code == 200
        assert "already used" in response.content.decode()


class TestLoginWithOTP:
    def test_a_password_alone_does_not_reach_any_page(
        self, client: Client, user: User, authenticator: Authenticator
    ) -> None:
        password_login(client, user)
        for url in ["/dashboard/", "/account/security/", "/account/2fa/", "/admin/"]:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/account/2fa/verify/"), url

    def test_the_code_completes_the_login_and_returns_to_next(
        self, client: Client, user: User, authenticator: Authenticator
    ) -> None:
        password_login(client, user)
        response = client.post(
            "/account/2fa/verify/?next=/account/security/", {"code": authenticator.next_code()}
        )
        assert response.status_code == 302 and response["Location"] == "/account/security/"

    def test_next_cannot_point_off_site(
        self, client: Client, user: User, authenticator: Authenticator
    ) -> None:
        password_login(client, user)
        response = client.post(
            "/account/2fa/verify/?next=https://evil.example/", {"code": authenticator.next_code()}
        )
        assert response["Location"] == "/dashboard/"

    def test_a_wrong_code_shows_an_error(self, client, user, authenticator) -> None:
        password_login(client, user)
        response = client.post("/account/2fa/verify/", {"code": "000000"})
        assert response.status_code == 200
        assert "That code is not right" in response.content.decode()
        assert client.get("/dashboard/").status_code == 302

    def test_an_empty_code_shows_an_error(self, client, user, authenticator) -> None:
        password_login(client, user)
        response = client.post("/account/2fa/verify/", {"code": ""})
        assert "Enter the code from your authenticator app." in response.content.decode()

    def test_wrong_codes_are_throttled(self, client, user, authenticator, settings) -> None:
        settings.OTP_THROTTLE_LIMIT = 3
        password_login(client, user)
        for _ in range(3):
            client.post("/account/2fa/verify/", {"code": "000000"})
        response = client.post("/account/2fa/verify/", {"code": authenticator.next_code()})
        assert "Too many wrong codes" in response.content.decode()
        assert client.get("/dashboard/").status_code == 302

    def test_a_backup_code_logs_in_once(self, client, user, authenticator) -> None:
        from accounts.backup_codes import replace_backup_codes

        code = replace_backup_codes(user=user, count=2)[0]
        password_login(client, user)
        assert client.post("/account/2fa/verify/", {"code": code}).status_code == 302
        client.post("/account/logout/")
        password_login(client, user)
        response = client.post("/account/2fa/verify/", {"code": code})
        assert response.status_code == 200 and "already used" in response.content.decode()


class TestStepUp:
    def test_a_sensitive_view_without_a_fresh_code_asks_for_one(
        self, verified_client: Client, settings
    ) -> None:
        session = verified_client.session
        session[STEPUP_SESSION_KEY] = time.time() - settings.STEPUP_WINDOW_SECONDS - 1
        session.save()
        response = verified_client.get("/account/2fa/backup-codes/")
        assert response.status_code == 302
        assert response["Location"].startswith("/account/2fa/confirm/?next=")

    def test_a_post_without_a_fresh_code_changes_nothing(
        self, verified_client: Client, user: User
    ) -> None:
        session = verified_client.session
        del session[STEPUP_SESSION_KEY]
        session.save()
        before = set(BackupCode.objects.values_list("digest", flat=True))
        response = verified_client.post("/account/2fa/backup-codes/")
        assert response.status_code == 302
        assert set(BackupCode.objects.values_list("digest", flat=True)) == before

    def test_a_password_is_not_enough_to_step_up(
        self, verified_client: Client, authenticator: Authenticator
    ) -> None:
        from accounts.tests.factories import PASSWORD

        session = verified_client.session
        del session[STEPUP_SESSION_KEY]
        session.save()
        response = verified_client.post("/account/2fa/confirm/", {"code": PASSWORD})
        assert response.status_code == 200
        assert verified_client.get("/account/2fa/backup-codes/").status_code == 302

    def test_a_fresh_code_unlocks_the_view_for_the_window(
        self, verified_client: Client, authenticator: Authenticator, user: User
    ) -> None:
        session = verified_client.session
        del session[STEPUP_SESSION_KEY]
        session.save()
        response = verified_client.post(
            "/account/2fa/confirm/?next=/account/2fa/backup-codes/",
            {"code": authenticator.next_code()},
        )
        assert response["Location"] == "/account/2fa/backup-codes/"
        assert verified_client.get("/account/2fa/backup-codes/").status_code == 200
        response = verified_client.post("/account/2fa/backup-codes/")
        assert response.status_code == 200
        assert BackupCode.objects.filter(device__user=user).count() == 10
        assert SecurityEvent.objects.filter(user=user, kind="backup_codes_regenerated").exists()

    def test_step_up_needs_two_factor_enrolled(self, client: Client, user: User) -> None:
        password_login(client, user)
        response = client.get("/account/2fa/backup-codes/")
        assert response.status_code == 302 and response["Location"] == "/account/2fa/setup/"


class TestReplaceAndDisable:
    def test_replacing_the_device_needs_a_fresh_code(self, verified_client: Client) -> None:
        session = verified_client.session
        del session[STEPUP_SESSION_KEY]
        session.save()
        response = verified_client.get("/account/2fa/setup/")
        assert response.status_code == 302 and "/account/2fa/confirm/" in response["Location"]

    def test_replacing_swaps_the_device_and_emails_the_user(
        self, verified_client: Client, user: User, totp_device, django_capture_on_commit_callbacks
    ) -> None:
        key = hex_key(secret_on(start_setup(verified_client)))
        with django_capture_on_commit_callbacks(execute=True):
            response = verified_client.post("/account/2fa/setup/", {"code": totp_code(key)})
        assert response.status_code == 302
        devices = TOTPDevice.objects.filter(user=user)
        assert devices.count() == 1 and devices.get().pk != totp_device.pk
        assert SecurityEvent.objects.filter(user=user, kind="2fa_replaced").exists()
        assert any("Authenticator app replaced" in m.subject for m in mail.outbox)

    def test_disabling_needs_a_current_code(self, verified_client: Client, user: User) -> None:
        response = verified_client.post(
            "/account/2fa/disable/", {"code": "000000", "confirm": "on"}
        )
        assert response.status_code == 400
        assert TOTPDevice.objects.filter(user=user).exists()

    def test_disabling_needs_the_confirmation_box(
        self, verified_client: Client, user: User, authenticator: Authenticator
    ) -> None:
        response = verified_client.post(
            "/account/2fa/disable/", {"code": authenticator.next_code()}
        )
        assert response.status_code == 400
        assert "Tick the box to confirm." in response.content.decode()
        assert TOTPDevice.objects.filter(user=user).exists()

    def test_disabling_with_a_code_removes_it_and_emails_the_user(
        self, verified_client, user, authenticator, django_capture_on_commit_callbacks
    ) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = verified_client.post(
                "/account/2fa/disable/", {"code": authenticator.next_code(), "confirm": "on"}
            )
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=user).exists()
        assert SecurityEvent.objects.filter(user=user, kind="2fa_disabled").exists()
        assert any("turned off" in m.subject for m in mail.outbox)


class TestSecurityLog:
    def test_a_user_sees_only_their_own_events(self, verified_client: Client, user: User) -> None:
        other = UserFactory()
        SecurityEvent.objects.create(user=other, kind="login", ip="198.51.100.99")
        page = verified_client.get("/account/security/").content.decode()
        assert "Signed in with password" in page
        assert "198.51.100.99" not in page

    def test_the_page_query_count_does_not_grow_with_events(
        self, verified_client: Client, user: User, django_assert_num_queries
    ) -> None:
        verified_client.get("/account/security/")
        with django_assert_num_queries(5):
            verified_client.get("/account/security/")
        for _ in range(30):
            SecurityEvent.objects.create(user=user, kind="login")
        with django_assert_num_queries(5):
            verified_client.get("/account/security/")


def test_the_ip_whitelist_page_lists_the_egress_ips(verified_client: Client, settings) -> None:
    settings.EGRESS_IPS = ["198.51.100.20"]
    page = verified_client.get("/account/ip-whitelist/").content.decode()
    assert "198.51.100.20" in page and "Binance" in page


def test_the_dashboard_nudges_to_enable_two_factor(client: Client, user: User) -> None:
    password_login(client, user)
    assert "Set up an authenticator app" in client.get("/dashboard/").content.decode()


def test_other_users_devices_are_untouched_by_enrolment(client: Client, user: User) -> None:
    other = TOTPDeviceFactory()
    password_login(client, user)
    start_setup(client)
    assert TOTPDevice.objects.filter(pk=other.pk, confirmed=True).exists()


def test_a_stale_post_returns_to_the_page_the_form_was_on(verified_client: Client) -> None:
    session = verified_client.session
    del session[STEPUP_SESSION_KEY]
    session.save()
    response = verified_client.post(
        "/account/2fa/backup-codes/", headers={"Referer": "http://testserver/account/2fa/"}
    )
    assert response["Location"] == "/account/2fa/confirm/?next=%2Faccount%2F2fa%2F"
    foreign = verified_client.post(
        "/account/2fa/backup-codes/", headers={"Referer": "https://evil.example/x"}
    )
    assert foreign["Location"] == "/account/2fa/confirm/?next=%2Faccount%2F2fa%2Fbackup-codes%2F"
