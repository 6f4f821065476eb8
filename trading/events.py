"""Live updates to a user's open pages, sent after the transaction commits.

Every state change that a user watches goes through ``push_to_user`` so no
code path forgets the live update (zulip's rule), and nothing is pushed for a
change that was rolled back.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


# Close codes of the live socket, read by static/js/live.js.
CLOSE_SIGNED_OUT = 4401  # not (or no longer) signed in: the page stops reconnecting
CLOSE_SESSION_CHANGED = 4001  # the user's sessions changed: reconnect to be checked again


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _group_send_after_commit(user_id: int, message: dict[str, Any], what: str) -> None:
    def send() -> None:
        try:
            layer = get_channel_layer()
            if layer is None:
                raise RuntimeError("no channel layer is configured")
            async_to_sync(layer.group_send)(user_group(user_id), message)
        except Exception:  # a live page missing an update must not fail the action
            logger.warning("Could not push %s to user %s", what, user_id, exc_info=True)

    transaction.on_commit(send)


def push_to_user(user_id: int, event: str, payload: dict[str, Any]) -> None:
    """Send ``{"event": event, "data": payload}`` to the user's open pages after commit.

    ``payload`` must be JSON-serialisable and never hold a secret.
    """

    _group_send_after_commit(
        user_id, {"type": "live.event", "event": event, "data": payload}, event
    )


def end_user_sockets(user_id: int) -> None:
    """Close every open live socket of the user after commit.

    Each page reconnects at once, and the connect check (session, password hash,
    one-time code) decides whether it may listen again.
    """
    _group_send_after_commit(user_id, {"type": "session.end"}, "session end")


def push_many(pushes: list[tuple[int, str, dict[str, Any]]]) -> None:
    """``push_to_user`` for many users at once (a batch of bots): one hand-over to the
    channel layer after commit for all of them, instead of one event loop round per push.

    Each item is ``(user_id, event, payload)``; payloads as for ``push_to_user``.
    """
    if not pushes:
        return

    async def send_all(layer: Any) -> None:
        for user_id, event, payload in pushes:
            try:
                await layer.group_send(
                    user_group(user_id), {"type": "live.event", "event": event, "data": payload}
                )
            except Exception:  # a live page missing an update must not fail the action
                logger.warning("Could not push %s to user %s", event, user_id, exc_info=True)

    def send() -> None:
        try:
            layer = get_channel_layer()
            if layer is None:
                raise RuntimeError("no channel layer is configured")
            async_to_sync(send_all)(layer)
        except Exception:
            logger.warning("Could not push %d updates", len(pushes), exc_info=True)

    transaction.on_commit(send)
