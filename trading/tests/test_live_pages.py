"""Live updates across processes: a worker records, a real ASGI server pushes.

Runs on whichever setup the suite runs on (channels-lite on the embedded
default, channels-redis in production); the in-memory layer of the other
trading tests is not used here.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client

from strategies.tests.factories import SignalFactory
from trading.tests.factories import BotFactory
from trading.tests.live_server import (  # noqa: F401  (fixtures)
    in_memory_channel_layer,
    run_in_worker,
    server_url,
)

pytestmark = pytest.mark.django_db(transaction=True)

PUSH_DEADLINE = 1.0  # seconds from the worker's commit to the open page


@pytest.fixture(autouse=True)
def _no_login_throttle_left_over() -> None:
    cache.clear()


class Socket:
    """A signed-in page's live socket, seen from outside the server."""

    def __init__(self, base_url: str, client: Client) -> None:
        self.base_url = base_url
        name = django_settings.SESSION_COOKIE_NAME
        self.cookies = {name: client.cookies[name].value}

    async def __aenter__(self) -> Socket:
        self.session = aiohttp.ClientSession(cookies=self.cookies)
        self.ws = await self.session.ws_connect(
            self.base_url.replace("http", "ws", 1) + "/ws/live/", origin=self.base_url
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()
        await self.session.close()

    async def collect(self) -> None:
        """Keep every event with the time it arrived, until cancelled."""
        self.events: list[tuple[float, dict[str, Any]]] = []
        while True:
            self.events.append(await self.next_event(timeout=600))

    async def next_event(self, timeout: float) -> tuple[float, dict[str, Any]]:
        message = await self.ws.receive(timeout=timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        return time.time(), json.loads(message.data)


def test_fills_and_decisions_recorded_by_a_worker_process_reach_the_open_page_within_a_second(
    server_url: str, verified_client: Client, user
) -> None:
    bot = BotFactory(owner=user)
    ignored = SignalFactory(strategy=bot.strategy, market="ETH/USDT")  # not in the bot's markets
    signal = SignalFactory(strategy=bot.strategy, fraction=Decimal("0.5"))
    code = (
        "import time; from trading.execution import execute\n"
        f"execute({str(bot.pk)!r}, {str(ignored.pk)!r})\n"
        f"decision = execute({str(bot.pk)!r}, {str(signal.pk)!r})\n"
        "print(decision.outcome, time.time())\n"
    )

    async def scenario() -> tuple[str, float, list[tuple[float, dict[str, Any]]]]:
        async with Socket(server_url, verified_client) as page:
            collector = asyncio.create_task(page.collect())
            try:
                output = await asyncio.to_thread(run_in_worker, code)
                outcome, done_at = output.split()[-2:]
                # Whatever the worker committed reaches the page within the deadline.
                await asyncio.sleep(PUSH_DEADLINE)
            finally:
                collector.cancel()
            return outcome, float(done_at), page.events

    outcome, done_at, events = asyncio.run(scenario())

    assert outcome == "executed"
    kinds = [event["event"] for _, event in events]
    assert "decision" in kinds and "order" in kinds, events
    fill = next(event for _, event in events if event["event"] == "order")
    skipped = next(event for _, event in events if event["event"] == "decision")
    assert skipped["data"]["bot"] == str(bot.pk) and skipped["data"]["outcome"] == "ignored"
    assert fill["data"]["bot"] == str(bot.pk) and fill["data"]["status"] == "closed"
    assert events[-1][0] - done_at <= PUSH_DEADLINE, (events, done_at)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the production setup's Redis layer")
def test_an_idle_page_on_redis_stays_open_past_30_seconds_and_still_receives(
    server_url: str, verified_client: Client, user
) -> None:
    # redis-py 8 reads with a 5 s timeout while channels-redis blocks 5 s on
    # BZPOPMIN: before the fix every idle socket closed with 1011 after ~6 s.
    code = (
        "import time; from trading.events import push_to_user\n"
        f"push_to_user({user.pk}, 'bot', {{'bot': 'x', 'status': 'running'}})\n"
        "print(time.time())\n"
    )

    async def scenario() -> tuple[float, list[tuple[float, dict[str, Any]]]]:
        async with Socket(server_url, verified_client) as page:
            collector = asyncio.create_task(page.collect())
            try:
                await asyncio.sleep(31)
                # Still listening: no close frame, no error, nothing at all.
                assert not collector.done() and not page.ws.closed and page.events == []
                sent_at = float((await asyncio.to_thread(run_in_worker, code)).split()[-1])
                await asyncio.sleep(PUSH_DEADLINE)
            finally:
                collector.cancel()
            return sent_at, page.events

    sent_at, events = asyncio.run(scenario())

    assert [event for _, event in events] == [
        {"event": "bot", "data": {"bot": "x", "status": "running"}}
    ]
    assert events[0][0] - sent_at <= PUSH_DEADLINE
