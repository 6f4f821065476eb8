"""Linking Telegram through the deep link and the webhook, against a fake Bot API."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from telegram.error import NetworkError as TelegramNetworkError

from accounts.models import SecurityEvent, TelegramLink, TelegramLinkToken
from accounts.notifications import notify_user
from accounts.tests.fake_telegram import FakeTelegram, fake_telegram  # noqa: F401

pytestmark = pytest.mark.django_db


def start_link(client: Client) -> str:
    page = client.post("/account/notifications/", {"action": "link"}).content.decode()
    match = re.search(r"https://t\.me/oneclick_test_bot\?start=([A-Za-z0-9_-]+)", page)
    assert match, page
    return match.group(1)


def webhook(
    client: Client,
    text: str,
    *,
    secret: str = "webhook-secret-for-tests",
    chat: int = 777,
    chat_type: str = "private",
):
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat, "type": chat_type, "username": "alice"},
            "from": {"id": chat, "is_bot": False, "first_name": "Alice"},
            "text": text,
        },
    }
    return client.post(
        "/telegram/webhook/",
        update,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": secret},
    )


def test_a_user_links_their_chat_with_a_one_time_deep_link(
    verified_client: Client, user, fake_telegram: FakeTelegram
) -> None:
    token = start_link(verified_client)
    assert webhook(Client(), f"/start {token}").status_code == 200
    link = TelegramLink.objects.get(user=user)
    assert (link.chat_id, link.username) == (777, "alice")
    assert "Linked" in fake_telegram.sent[-1]["text"]
    assert SecurityEvent.objects.filter(user=user, kind="telegram_linked").exists()
    assert "Linked to @alice" in verified_client.get("/account/notifications/").content.decode()


def test_the_token_works_once(verified_client: Client, user, fake_telegram: FakeTelegram) -> None:
    token = start_link(verified_client)
    webhook(Client(), f"/start {token}", chat=1)
    webhook(Client(), f"/start {token}", chat=2)
    assert TelegramLink.objects.get(user=user).chat_id == 1
    assert "expired or was already used" in fake_telegram.sent[-1]["text"]


@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
def test_a_link_sent_from_a_group_links_nothing_and_still_works_in_private(
    verified_client: Client, user, fake_telegram: FakeTelegram, chat_type: str
) -> None:
    # Alerts about someone's money must reach only them, not everyone in a group.
    token = start_link(verified_client)
    webhook(Client(), f"/start {token}", chat=-100, chat_type=chat_type)
    assert not TelegramLink.objects.exists()
    assert "private chat" in fake_telegram.sent[-1]["text"]
    webhook(Client(), f"/start {token}", chat=777)
    assert TelegramLink.objects.get(user=user).chat_id == 777


def test_an_expired_token_links_nothing(verified_client: Client, user, fake_telegram) -> None:
    token = start_link(verified_client)
    TelegramLinkToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    webhook(Client(), f"/start {token}")
    assert not TelegramLink.objects.exists()


def test_only_the_token_hash_is_stored(verified_client: Client, fake_telegram) -> None:
    token = start_link(verified_client)
    assert not TelegramLinkToken.objects.filter(digest__contains=token).exists()


@pytest.mark.parametrize("secret", ["", "wrong-secret"])
def test_the_webhook_refuses_calls_without_telegrams_secret(secret: str, fake_telegram) -> None:
    assert webhook(Client(), "/start x", secret=secret).status_code == 403


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        ("[1, 2]", 400),
        ('{"update_id": "x"}', 400),
        ('{"update_id": 5}', 200),
        ('{"update_id": 5, "edited_message": {"text": "hi"}}', 200),
    ],
)
def test_the_webhook_answers_bad_bodies_clearly(body: str, status: int, fake_telegram) -> None:
    response = Client().post(
        "/telegram/webhook/",
        body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": "webhook-secret-for-tests"},
    )
    assert response.status_code == status
    assert not TelegramLink.objects.exists()


def message_update(**message: object) -> dict:
    base: dict = {"message_id": 1, "date": 0, "chat": {"id": 777, "type": "private"}}
    return {"update_id": 1, "message": {**base, **message}}


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "message": "/start TOKEN"},
        {"update_id": 1, "message": ["/start TOKEN"]},
        message_update(chat="777", text="/start TOKEN"),
        message_update(chat={"id": "777", "type": "private"}, text="/start TOKEN"),
        message_update(chat={"id": True, "type": "private"}, text="/start TOKEN"),
        message_update(chat={"id": 10**30, "type": "private"}, text="/start TOKEN"),
        message_update(chat={"id": 7, "username": ["x"]}, text="/start TOKEN"),
        message_update(chat={"id": 7, "username": "x" * 65}, text="/start TOKEN"),
        message_update(text=["/start TOKEN"]),
        message_update(text={"start": "TOKEN"}),
    ],
)
def test_a_malformed_update_with_the_right_secret_is_refused_and_stores_nothing(
    update: dict, verified_client: Client, user, fake_telegram: FakeTelegram, caplog
) -> None:
    # Test fails on main before this change: e.g. a message that is a string
    # raised AttributeError (500, traceback logged); a chat id of 10**30 reached the database.
    import json

    token = start_link(verified_client)
    body = json.dumps(update).replace("TOKEN", token)
    response = Client().post(
        "/telegram/webhook/",
        body,
        content_type="application/json",
        headers={"X-Telegram-Bot-Api-Secret-Token": "webhook-secret-for-tests"},
    )
    assert response.status_code == 400
    assert "not a Telegram update" in response.json()["error"]
    assert not TelegramLink.objects.exists()
    assert TelegramLinkToken.objects.filter(user=user, used_at__isnull=True).exists()
    assert not [r for r in caplog.records if r.exc_info]
    assert not fake_telegram.sent
    # The token still works for the real message.
    assert webhook(Client(), f"/start {token}").status_code == 200
    assert TelegramLink.objects.filter(user=user, chat_id=777).exists()


def test_the_webhook_refuses_when_no_secret_is_configured(settings) -> None:
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    assert webhook(Client(), "/start x", secret="").status_code == 403


def test_unlinking(verified_client: Client, user, fake_telegram) -> None:
    TelegramLink.objects.create(user=user, chat_id=5)
    verified_client.post("/account/notifications/", {"action": "unlink"})
    assert not TelegramLink.objects.exists()
    assert SecurityEvent.objects.filter(user=user, kind="telegram_unlinked").exists()


def test_alerts_go_by_email_and_to_the_linked_chat(
    user, fake_telegram: FakeTelegram, django_capture_on_commit_callbacks
) -> None:
    TelegramLink.objects.create(user=user, chat_id=99)
    with django_capture_on_commit_callbacks(execute=True):
        notify_user(user=user, subject="Order failed", body="BTC/USDT buy was refused.")
    assert mail.outbox[-1].subject == "[OneClick] Order failed"
    assert fake_telegram.sent[-1]["chat_id"] in (99, "99")
    assert "BTC/USDT buy was refused." in fake_telegram.sent[-1]["text"]


def test_a_telegram_outage_does_not_lose_the_email(
    user, fake_telegram: FakeTelegram, django_capture_on_commit_callbacks
) -> None:
    TelegramLink.objects.create(user=user, chat_id=99)
    fake_telegram.fail_next = 1
    # Inline (test) mode re-raises the task's error; a worker would retry that task alone.
    with pytest.raises(TelegramNetworkError), django_capture_on_commit_callbacks(execute=True):
        notify_user(user=user, subject="Order failed", body="x")
    assert len(mail.outbox) == 1
    from accounts.tasks import deliver_telegram

    deliver_telegram(user.pk, "Order failed", "x")  # the retry
    assert fake_telegram.sent[-1]["text"] == "Order failed\n\nx"
    assert len(mail.outbox) == 1


def test_the_page_says_when_telegram_is_not_configured(verified_client: Client, settings) -> None:
    settings.TELEGRAM_BOT_TOKEN = ""
    page = verified_client.get("/account/notifications/").content.decode()
    assert "not set up on this server" in page


def test_the_bot_token_never_reaches_the_logs(
    user, fake_telegram: FakeTelegram, caplog, django_capture_on_commit_callbacks, settings
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    TelegramLink.objects.create(user=user, chat_id=99)
    with django_capture_on_commit_callbacks(execute=True):
        notify_user(user=user, subject="Hello", body="x")
    assert fake_telegram.sent
    assert settings.TELEGRAM_BOT_TOKEN not in caplog.text
