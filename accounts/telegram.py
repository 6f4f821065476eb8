"""The Telegram Bot API, through python-telegram-bot: the one module that talks to it.

``TELEGRAM_API_BASE`` lets tests point it at a local fake API.
"""

from __future__ import annotations

import asyncio
from typing import Any

from django.conf import settings
from telegram import Bot, Update


class TelegramDisabled(Exception):
    """No bot token is configured."""


def _bot() -> Bot:
    if not settings.TELEGRAM_BOT_TOKEN:
        raise TelegramDisabled("Telegram alerts are not configured on this server.")
    return Bot(settings.TELEGRAM_BOT_TOKEN, base_url=settings.TELEGRAM_API_BASE)


def send_message(chat_id: int, text: str) -> None:
    """Send ``text`` to a chat. Raises telegram.error.TelegramError on failure."""

    async def send() -> None:
        async with _bot() as bot:
            await bot.send_message(chat_id=chat_id, text=text[:4096])

    asyncio.run(send())


def parse_update(data: dict[str, Any]) -> Update | None:
    """An Update from a webhook body, or None when it is not one."""
    try:
        return Update.de_json(data, bot=None)
    except (KeyError, TypeError, ValueError):
        return None
