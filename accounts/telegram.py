"""The Telegram Bot API, through python-telegram-bot: the one module that talks to it.

``TELEGRAM_API_BASE`` lets tests point it at a local fake API.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from django.conf import settings
from telegram import Bot

BIGINT = 2**63
MAX_USERNAME = 64
MAX_TEXT = 4096


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


class MalformedUpdate(ValueError):
    """A webhook body that is not a Telegram update."""


@dataclass(frozen=True)
class IncomingMessage:
    chat_id: int
    username: str
    text: str
    private: bool = True  # a one-to-one chat with the bot (not a group or channel)


def _text(value: object, *, limit: int, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise MalformedUpdate(f"{what} is not a string of at most {limit} characters")
    return value


def parse_message(data: object) -> IncomingMessage | None:
    """The new message in a webhook update, or None for updates without one.

    Only the fields the link flow reads are taken, each checked for its type
    and range (a chat id fits the BIGINT column), so no odd body reaches the
    database or fails half-way. Raises MalformedUpdate on anything else.
    """
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        raise MalformedUpdate("not a Telegram update")
    message = data.get("message")
    if message is None:
        return None  # an edit, a callback, a channel post: nothing to do
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        raise MalformedUpdate("the message has no chat")
    chat = message["chat"]
    chat_id = chat.get("id")
    if type(chat_id) is not int or not -BIGINT <= chat_id < BIGINT:
        raise MalformedUpdate("the chat id is not a 64-bit integer")
    return IncomingMessage(
        chat_id=chat_id,
        username=_text(chat.get("username"), limit=MAX_USERNAME, what="the username"),
        text=_text(message.get("text"), limit=MAX_TEXT, what="the text"),
        private=chat.get("type") == "private",
    )
