"""The configured channel layer carries messages from one process to another.

Live pages are pushed to from task workers, which run in other processes than
the web server: a layer that only works inside one process would look fine in
every other test and fail in production. So a second process, started with
``manage.py`` and this environment, sends; this process receives.

Embedded default: channels-lite on the SQLite file of the ``channels`` database.
pytest-django's test databases are invisible to another process, so these tests
use no test database: they open the configured file. Production setup
(``REDIS_URL``): channels-redis, no database at all.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar, cast

import pytest
from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import BaseChannelLayer, channel_layers
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.utils.module_loading import import_string

T = TypeVar("T")

RECEIVE_TIMEOUT = 10


@pytest.fixture
def configured_databases(django_db_blocker) -> Iterator[None]:
    """Open the configured databases, not pytest-django's test copies."""
    with django_db_blocker.unblock():
        if "channels" in settings.DATABASES:
            channels_db = connections["channels"].settings_dict
            if channels_db["NAME"] == channels_db.get("TEST", {}).get("NAME"):
                pytest.fail(
                    "A test in this run asked for the test copy of the 'channels' database; "
                    "another process cannot see it, so the channel layer cannot be tested here."
                )
            call_command("migrate", "channels_lite", database="channels", verbosity=0)
        yield


@pytest.fixture
def layer(configured_databases: None) -> BaseChannelLayer:
    """A fresh instance of the configured layer, so no state leaks between tests."""
    return channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)


def short_lived_layer(expiry: int) -> BaseChannelLayer:
    """The configured layer, but its messages expire after ``expiry`` seconds."""
    config: dict[str, Any] = settings.CHANNEL_LAYERS[DEFAULT_CHANNEL_LAYER]
    return import_string(config["BACKEND"])(**{**config.get("CONFIG", {}), "expiry": expiry})


def run(scenario: Awaitable[T], *layers: BaseChannelLayer) -> T:
    """Run a scenario in a new event loop, then close what the layers opened in it."""

    async def main() -> T:
        try:
            return await scenario
        finally:
            for layer in layers:
                if hasattr(layer, "close_pools"):  # channels-redis
                    await layer.close_pools()
                else:  # channels-lite: stop its polling task
                    await cast(Any, layer).close()
            # The ORM of channels-lite ran in asgiref's one sync thread.
            await sync_to_async(connections.close_all)()

    return asyncio.run(main())


def message(text: str) -> dict[str, Any]:
    return {"type": "test.message", "text": text}


def new_group() -> str:
    return f"test-{uuid.uuid4().hex}"


async def group_send_from_another_process(*sends: tuple[str, dict[str, Any]]) -> None:
    """Send to groups from a new ``manage.py`` process, one send after another."""
    code = "\n".join(
        [
            "from asgiref.sync import async_to_sync",
            "from channels.layers import get_channel_layer",
            "layer = get_channel_layer()",
            *(f"async_to_sync(layer.group_send)({group!r}, {msg!r})" for group, msg in sends),
        ]
    )
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_a_group_message_sent_by_another_process_is_received(layer: BaseChannelLayer) -> None:
    group = new_group()

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            await group_send_from_another_process((group, message("hello")))
            return await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT)
        finally:
            await layer.group_discard(group, channel)

    received = run(scenario(), layer)

    assert received == message("hello")


def test_a_channel_that_left_a_group_gets_nothing_more_from_it(layer: BaseChannelLayer) -> None:
    left, joined = new_group(), new_group()

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add(left, channel)
        await layer.group_add(joined, channel)
        await layer.group_discard(left, channel)
        try:
            # Messages to one channel arrive in order: had the first been
            # delivered, it would be received before the second.
            await group_send_from_another_process(
                (left, message("after leaving")), (joined, message("still a member"))
            )
            return await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT)
        finally:
            await layer.group_discard(joined, channel)

    received = run(scenario(), layer)

    assert received == message("still a member")


def test_an_expired_message_is_not_delivered(layer: BaseChannelLayer) -> None:
    stale_sender = short_lived_layer(expiry=1)

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()
        await stale_sender.send(channel, message("stale"))
        await asyncio.sleep(1.5)
        await layer.send(channel, message("fresh"))
        return await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT)

    received = run(scenario(), layer, stale_sender)

    assert received == message("fresh")


def test_a_batch_push_handed_to_a_worker_s_pusher_thread_is_received(
    layer: BaseChannelLayer,
) -> None:
    # A task worker's batch pushes go through its pusher thread (``trading.events``),
    # not inline as in the other tests: that thread must work with the configured layer
    # (the embedded one runs its database calls through asgiref) and be joined before
    # the process exits.
    user_id = 10**12 + uuid.uuid4().int % 10**9
    # No database in that process (the test ones are invisible to it): the hand-over
    # "after commit" runs at once, as it does outside a transaction.
    code = "\n".join(
        [
            "from django.db import transaction",
            "from django_q.conf import Conf",
            "from trading.events import push_many",
            "transaction.on_commit = lambda func, using=None, robust=False: func()",
            "Conf.SYNC = False",
            f"push_many([({user_id}, 'batch', {{'orders': ['x']}})])",
        ]
    )

    async def scenario() -> dict[str, Any]:
        channel = await layer.new_channel()
        await layer.group_add(f"user.{user_id}", channel)
        try:
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "manage.py", "shell", "-c", code],
                cwd=settings.BASE_DIR,
                env=os.environ.copy(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
            return await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT)
        finally:
            await layer.group_discard(f"user.{user_id}", channel)

    received = run(scenario(), layer)

    assert received == {"type": "live.event", "event": "batch", "data": {"orders": ["x"]}}
