"""The live-updates socket: who may connect, what it sends, what it answers."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from accounts.tests.conftest import password_login
from oneclick.asgi import application
from trading.events import push_to_user

pytestmark = pytest.mark.django_db(transaction=True)


def communicator(client: Client | None, *, origin: bytes = b"http://localhost"):
    headers = [(b"origin", origin)]
    if client is not None:
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/live/", headers=headers)


def run(coro_fn):
    return async_to_sync(coro_fn)()


def test_a_fully_signed_in_user_receives_their_updates(verified_client: Client, user) -> None:
    async def scenario():
        ws = communicator(verified_client)
        connected, _ = await ws.connect()
        assert connected
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send(
            f"user.{user.pk}", {"type": "live.event", "event": "order", "data": {"id": 1}}
        )
        assert await ws.receive_json_from(timeout=2) == {"event": "order", "data": {"id": 1}}
        await ws.disconnect()

    run(scenario)


def test_anonymous_visitors_are_refused() -> None:
    async def scenario():
        ws = communicator(None)
        connected, code = await ws.connect()
        assert not connected and code == 4401

    run(scenario)


def test_a_password_without_the_one_time_code_is_refused(
    client: Client, user, authenticator
) -> None:
    password_login(client, user)

    async def scenario():
        ws = communicator(client)
        connected, code = await ws.connect()
        assert not connected and code == 4401

    run(scenario)


def test_a_foreign_origin_is_refused(verified_client: Client) -> None:
    async def scenario():
        ws = communicator(verified_client, origin=b"https://evil.example")
        connected, _ = await ws.connect()
        assert not connected

    run(scenario)


def test_users_do_not_see_each_others_updates(verified_client: Client, user) -> None:
    async def scenario():
        ws = communicator(verified_client)
        await ws.connect()
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send(
            f"user.{user.pk + 1000}", {"type": "live.event", "event": "order", "data": {}}
        )
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ({"text_data": "not json"}, "frames must be JSON"),
        ({"text_data": '{"cmd": "sell everything"}'}, "takes no commands"),
        ({"bytes_data": b"\x00\x01"}, "binary frames are not accepted"),
    ],
)
def test_frames_from_the_browser_get_a_clear_error(verified_client: Client, frame, error) -> None:
    async def scenario():
        ws = communicator(verified_client)
        await ws.connect()
        if "bytes_data" in frame:
            await ws.send_to(bytes_data=frame["bytes_data"])
        else:
            await ws.send_to(text_data=frame["text_data"])
        assert (await ws.receive_json_from(timeout=2))["error"].endswith(error)
        # The socket stays open and usable.
        await ws.send_to(text_data="{}")
        assert "error" in await ws.receive_json_from(timeout=2)
        await ws.disconnect()

    run(scenario)


def test_push_waits_for_the_commit(verified_client: Client, user) -> None:
    from django.db import transaction

    async def scenario():
        ws = communicator(verified_client)
        await ws.connect()

        def rolled_back_then_committed() -> None:
            try:
                with transaction.atomic():
                    push_to_user(user.pk, "balance", {"n": 1})
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass
            with transaction.atomic():
                push_to_user(user.pk, "balance", {"n": 2})

        from asgiref.sync import sync_to_async

        await sync_to_async(rolled_back_then_committed)()
        assert await ws.receive_json_from(timeout=2) == {"event": "balance", "data": {"n": 2}}
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    run(scenario)
