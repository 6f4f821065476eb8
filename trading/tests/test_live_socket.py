"""The live socket under hostile frames, and closed when the user's session changes.

Channels checks the session only when a socket connects, so a logout, a
password change or 2FA turned off must close the sockets that were already open
(issue 13 item 2); the page then reconnects and the connect check decides.
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client

from accounts.events import record_event
from accounts.models import SecurityEvent
from accounts.tests.conftest import password_login
from accounts.tests.factories import PASSWORD
from trading.consumers import CLOSE_TOO_MANY_FRAMES, MAX_BAD_FRAMES
from trading.events import CLOSE_SESSION_CHANGED, CLOSE_SIGNED_OUT
from trading.frames import MAX_DEPTH, MAX_FRAME_BYTES, frame_error, nesting_depth
from trading.tests.test_consumers import communicator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_login_throttle_left_over() -> None:
    # Transactional tests do not roll the database cache back, and many of
    # these tests sign in from the same address.
    cache.clear()


STRONG = "An0ther-long-passphrase!"

ODD_TEXT_FRAMES = [
    "",
    "\x00",
    '{"a": "\x00"}',
    "x" * 100_000,
    '"' + "é" * 60_000 + '"',
    "[" * 5000,
    "[" * 5000 + "]" * 5000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    '"\\ud800"',
    "\ud800",
    "null",
    "1e999999",
    "-0",
    "[1, 2, 3]",
    '"a string"',
    "true",
    '{"type": "websocket.close"}',
    '{"type": "live.event", "event": "order", "data": {}}',
    '{"cmd": "sell everything", "bot": ["1", {"2": null}]}',
]
ODD_BINARY_FRAMES = [b"\x00", b"\xff\xfe\xfd", b"\xc3\x28", b"[" * 5000, b"x" * 100_000]


def test_a_deeply_nested_frame_is_refused_before_parsing() -> None:
    # json.loads("[" * 5000) raises RecursionError: the depth check comes first.
    assert frame_error("[" * 4000, None).startswith("frame nested too deeply")
    assert frame_error("x" * (MAX_FRAME_BYTES + 1), None).startswith("frame too large")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert nesting_depth('["[[[[", "\\"[[[["]') == 1
    assert nesting_depth('{"a": [{"b": []}]}') == 4


@pytest.mark.parametrize("frame", [*ODD_TEXT_FRAMES, *ODD_BINARY_FRAMES], ids=repr)
def test_any_frame_gets_a_clear_error_and_the_socket_stays_usable(
    verified_client: Client, user, frame
) -> None:
    async def scenario():
        ws = communicator(verified_client)
        assert (await ws.connect())[0]
        kind = "bytes" if isinstance(frame, bytes) else "text"
        await ws.send_input({"type": "websocket.receive", kind: frame})
        answer = await ws.receive_json_from(timeout=2)
        assert set(answer) == {"error"} and answer["error"]
        # Still open and still receiving the user's updates.
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        assert layer is not None
        await layer.group_send(
            f"user.{user.pk}", {"type": "live.event", "event": "order", "data": {"id": 7}}
        )
        assert await ws.receive_json_from(timeout=2) == {"event": "order", "data": {"id": 7}}
        await ws.disconnect()

    async_to_sync(scenario)()


def test_a_page_that_keeps_sending_frames_is_closed(verified_client: Client) -> None:
    async def scenario():
        ws = communicator(verified_client)
        await ws.connect()
        for _ in range(MAX_BAD_FRAMES):
            await ws.send_to(text_data="{}")
            assert "error" in await ws.receive_json_from(timeout=2)
        assert await ws.receive_output(timeout=2) == {
            "type": "websocket.close",
            "code": CLOSE_TOO_MANY_FRAMES,
        }

    async_to_sync(scenario)()


async def _expect_closed(ws: WebsocketCommunicator, code: int) -> None:
    assert await ws.receive_output(timeout=2) == {"type": "websocket.close", "code": code}


def test_signing_out_in_another_tab_closes_the_socket_and_it_cannot_reconnect(
    verified_client: Client,
) -> None:
    async def scenario():
        ws = communicator(verified_client)
        assert (await ws.connect())[0]
        again = communicator(verified_client)  # the same session, read before the logout
        await sync_to_async(verified_client.post)("/account/logout/")
        await _expect_closed(ws, CLOSE_SESSION_CHANGED)
        connected, code = await again.connect()
        assert not connected and code == CLOSE_SIGNED_OUT

    async_to_sync(scenario)()


def test_a_password_change_closes_the_socket_and_the_same_session_may_reconnect(
    verified_client: Client,
) -> None:
    async def scenario():
        ws = communicator(verified_client)
        assert (await ws.connect())[0]
        response = await sync_to_async(verified_client.post)(
            "/account/password/change/",
            {"oldpassword": PASSWORD, "password1": STRONG, "password2": STRONG},
        )
        assert response.status_code == 302
        await _expect_closed(ws, CLOSE_SESSION_CHANGED)
        # The session that changed the password keeps its hash and may listen again.
        assert (await communicator(verified_client).connect())[0]

    async_to_sync(scenario)()


def test_a_password_change_leaves_a_stolen_session_unable_to_reconnect(
    client: Client, user
) -> None:
    thief = Client()
    password_login(thief, user)
    password_login(client, user)

    async def scenario():
        ws = communicator(thief)
        assert (await ws.connect())[0]
        response = await sync_to_async(client.post)(
            "/account/password/change/",
            {"oldpassword": PASSWORD, "password1": STRONG, "password2": STRONG},
        )
        assert response.status_code == 302
        await _expect_closed(ws, CLOSE_SESSION_CHANGED)
        connected, code = await communicator(thief).connect()
        assert not connected and code == CLOSE_SIGNED_OUT

    async_to_sync(scenario)()


def test_turning_two_factor_off_closes_the_socket(verified_client: Client, authenticator) -> None:
    async def scenario():
        ws = communicator(verified_client)
        assert (await ws.connect())[0]
        response = await sync_to_async(verified_client.post)(
            "/account/2fa/disable/", {"code": authenticator.next_code(), "confirm": "on"}
        )
        assert response.status_code == 302
        await _expect_closed(ws, CLOSE_SESSION_CHANGED)

    async_to_sync(scenario)()


def test_a_disabled_key_reaches_open_pages_as_an_alert(verified_client: Client, user) -> None:
    async def scenario():
        ws = communicator(verified_client)
        assert (await ws.connect())[0]
        await sync_to_async(record_event)(user=user, kind=SecurityEvent.Kind.KEY_DISABLED)
        assert await ws.receive_json_from(timeout=2) == {
            "event": "alert",
            "data": {"kind": "key_disabled"},
        }
        # A sign-in elsewhere is not news for the page.
        await sync_to_async(record_event)(user=user, kind=SecurityEvent.Kind.LOGIN)
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/live/extra/", "/", "/ws/live"])
def test_a_socket_to_a_path_nothing_serves_is_refused_with_a_code_not_an_exception(
    path: str,
) -> None:
    from channels.testing import WebsocketCommunicator

    from oneclick.asgi import application
    from oneclick.routing import CLOSE_NOT_FOUND

    async def scenario():
        ws = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://localhost")])
        connected, code = await ws.connect()
        assert not connected and code == CLOSE_NOT_FOUND

    async_to_sync(scenario)()
