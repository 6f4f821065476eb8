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


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def push_to_user(user_id: int, event: str, payload: dict[str, Any]) -> None:
    """Send ``{"event": event, "data": payload}`` to the user's open pages after commit.

    ``payload`` must be JSON-serialisable and never hold a secret.
    """

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(
                user_group(user_id), {"type": "live.event", "event": event, "data": payload}
            )
        except Exception:  # a live page missing an update must not fail the trade
            logger.warning("Could not push %s to user %s", event, user_id, exc_info=True)

    transaction.on_commit(send)
