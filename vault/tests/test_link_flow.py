"""Linking, re-enabling and re-checking keys through the pages, on the paper exchange."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import SecurityEvent
from paper import faults
from vault.models import CredentialUse, ExchangeCredential
from vault.services import credential_recheck
from vault.tests.factories import CredentialFactory
from vault.tests.linking import post_link

pytestmark = pytest.mark.django_db

KEY = "paper-LINKFLOW-key-0001"
SECRET = "paper-LINKFLOW-secret-0001"


def link(client: Client, **overrides: str):
    fields = {"exchange_id": "paper", "label": "Try-out", "api_key": KEY, "secret": SECRET}
    return post_link(client, **{**fields, **overrides})


def test_a_paper_key_links_after_the_exchange_confirms_it(verified_client: Client, user) -> None:
    response = link(verified_client)
    credential = ExchangeCredential.objects.get(owner=user)
    assert response.status_code == 302 and response.url == f"/keys/{credential.pk}/"
    assert credential.status == "active" and credential.permissions_verified
    assert credential.permissions["can_withdraw"] is False
    assert credential.api_key_masked == "pape…0001"
    assert credential.api_key == KEY and credential.secret == SECRET
    assert CredentialUse.objects.filter(credential=credential, purpose="verify").count() == 1
    assert SecurityEvent.objects.filter(user=user, kind="key_linked").exists()
    page = verified_client.get(response.url).content.decode()
    assert "is linked" in page and SECRET not in page and KEY not in page


def test_a_wrong_secret_is_refused_and_nothing_is_stored(verified_client: Client, user) -> None:
    link(verified_client)  # the paper account now exists with SECRET
    response = link(verified_client, secret="not-the-secret-at-all")
    assert response.status_code == 200
    assert "rejected this API key or secret" in response.content.decode()
    assert ExchangeCredential.objects.filter(owner=user).count() == 1
    assert SecurityEvent.objects.filter(user=user, kind="key_link_refused").exists()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("timeout", "We could not reach"),
        ("server_error", "We could not reach"),
        ("rate_limit", "limiting our requests"),
    ],
)
def test_an_exchange_failure_gives_a_clear_error_and_stores_nothing(
    verified_client: Client, user, fault: str, message: str
) -> None:
    faults.inject(KEY, fault, method="check_permissions")
    response = link(verified_client)
    page = response.content.decode()
    assert response.status_code == 200 and message in page
    assert "Nothing was saved" in page
    assert not ExchangeCredential.objects.filter(owner=user).exists()


def test_secrets_are_not_written_back_into_the_form(verified_client: Client) -> None:
    faults.inject(KEY, "timeout", method="check_permissions")
    page = link(verified_client).content.decode()
    assert SECRET not in page and KEY not in page


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"secret": ""}, "needs this with its API keys"),
        ({"api_key": "abc def"}, "contains spaces"),
        ({"exchange_id": "no-such-exchange"}, "Select a valid choice"),
        ({"label": ""}, "This field is required"),
    ],
)
def test_bad_input_gets_a_clear_error(verified_client: Client, user, overrides, error) -> None:
    response = link(verified_client, **overrides)
    assert response.status_code == 200 and error in response.content.decode()
    assert not ExchangeCredential.objects.filter(owner=user).exists()


def test_an_exchange_whose_keys_we_cannot_check_is_not_offered(verified_client: Client) -> None:
    page = verified_client.get("/keys/link/").content.decode()
    response = link(verified_client, exchange_id="kucoin")
    assert "Select a valid choice" in response.content.decode()
    assert 'value="kucoin"' not in page and 'value="polymarket"' not in page


def test_the_exchange_list_shows_the_supported_exchanges_only(verified_client: Client) -> None:
    page = verified_client.get("/keys/link/").content.decode()
    options = re.findall(r'<option value="([^"]+)"', page)
    assert options == ["paper", "binance", "binanceus", "kraken", "bitvavo", "onetrading"]


def test_re_enabling_checks_the_key_again(verified_client: Client, user) -> None:
    link(verified_client)
    credential = ExchangeCredential.objects.get(owner=user)
    verified_client.post(f"/keys/{credential.pk}/disable/")
    response = verified_client.post(f"/keys/{credential.pk}/enable/")
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.status == "active"
    assert credential.uses.filter(purpose="verify").count() == 2
    assert SecurityEvent.objects.filter(user=user, kind="key_enabled").exists()


def test_re_enabling_fails_cleanly_when_the_exchange_is_down(verified_client: Client, user) -> None:
    link(verified_client)
    credential = ExchangeCredential.objects.get(owner=user)
    verified_client.post(f"/keys/{credential.pk}/disable/")
    faults.inject(KEY, "timeout", method="check_permissions")
    response = verified_client.post(f"/keys/{credential.pk}/enable/", follow=True)
    assert "We could not reach" in response.content.decode()
    credential.refresh_from_db()
    assert credential.status == "disabled"


class TestRecheck:
    @pytest.fixture
    def credential(self, verified_client: Client, user) -> ExchangeCredential:
        link(verified_client)
        return ExchangeCredential.objects.get(owner=user)

    def test_a_healthy_key_stays_active(self, credential) -> None:
        assert credential_recheck(credential) == "ok"
        credential.refresh_from_db()
        assert credential.status == "active"
        assert credential.uses.filter(purpose="recheck").count() == 1

    def test_an_outage_does_not_punish_the_key(self, credential) -> None:
        faults.inject(KEY, "timeout", method="check_permissions")
        assert credential_recheck(credential) == "unreachable"
        credential.refresh_from_db()
        assert credential.status == "active"

    def test_a_disabled_key_is_not_used(self, credential) -> None:
        ExchangeCredential.objects.filter(pk=credential.pk).update(status="disabled")
        assert credential_recheck(credential) == "invalid"
        assert not credential.uses.filter(purpose="recheck").exists()

    def test_the_scheduled_task_fans_out_by_id(
        self, credential, django_capture_on_commit_callbacks
    ) -> None:
        from vault.tasks import recheck_all_credentials

        assert recheck_all_credentials() == 1
        assert credential.uses.filter(purpose="recheck").count() == 1
        assert mail.outbox == []


def test_the_recheck_schedule_exists_after_migrate() -> None:
    from django_q.models import Schedule

    from vault.schedules import RECHECK_NAME, ensure_schedules

    ensure_schedules()
    ensure_schedules()  # idempotent
    schedule = Schedule.objects.get(name=RECHECK_NAME)
    assert schedule.func == "vault.tasks.recheck_all_credentials"


def test_a_paper_account_opens_in_one_click(verified_client: Client, user) -> None:
    response = verified_client.post("/keys/link/paper/")
    credential = ExchangeCredential.objects.get(owner=user)
    assert response.status_code == 302 and response["Location"] == f"/keys/{credential.pk}/"
    assert credential.exchange_id == "paper" and credential.status == "active"
    from vault.services import client_for

    balance = client_for(credential, purpose="sync").fetch_balance()
    assert balance["USDT"]["free"] == 10000


def test_a_second_paper_account_gets_a_name_of_its_own(verified_client: Client, user) -> None:
    verified_client.post("/keys/link/paper/")
    verified_client.post("/keys/link/paper/")
    labels = sorted(ExchangeCredential.objects.filter(owner=user).values_list("label", flat=True))
    # Both were "Paper account": one could not tell them apart in the bot form.
    assert labels == ["Paper account", "Paper account 2"]


def test_a_paper_account_needs_a_fresh_code_too(verified_client: Client, user) -> None:
    session = verified_client.session
    session.pop("oneclick_stepup_at", None)
    session.save()
    response = verified_client.post("/keys/link/paper/")
    assert response.status_code == 302 and "/account/2fa/confirm/" in response["Location"]
    assert not ExchangeCredential.objects.exists()


def test_a_key_linked_earlier_on_an_exchange_no_longer_offered_still_shows(
    verified_client: Client, user
) -> None:
    credential = CredentialFactory(
        owner=user, exchange_id="kucoin", permissions={}, permissions_verified=False
    )
    page = verified_client.get(f"/keys/{credential.pk}/").content.decode()
    assert "Kucoin" in page and "Unverified" in page
