"""Telegram's webhook: it delivers the /start message carrying a link token."""

from __future__ import annotations

import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.telegram import MalformedUpdate, TelegramDisabled, parse_message, send_message
from accounts.telegram_links import telegram_link_complete

logger = logging.getLogger(__name__)
MAX_BODY = 64 * 1024


@csrf_exempt  # Telegram cannot send a CSRF token; the secret header authenticates it
@require_POST
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return HttpResponse(status=403)
    if len(request.body) > MAX_BODY:
        return HttpResponse(status=413)
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # "[" * 5000 nests too deep
        return JsonResponse({"error": "body is not JSON"}, status=400)
    try:
        message = parse_message(data)
    except MalformedUpdate as exc:
        logger.warning("Refused a malformed Telegram update: %s", exc)
        return JsonResponse({"error": f"not a Telegram update: {exc}"}, status=400)
    # Anything but "/start <token>" is acknowledged and ignored, so Telegram does not retry.
    if message is None or not message.text.startswith("/start "):
        return JsonResponse({"ok": True})
    if not message.private:
        # Alerts about someone's money go to them alone: the token is left unused.
        reply = "Open the link in a private chat with this bot: alerts are sent only to you."
    else:
        token = message.text.removeprefix("/start ").strip()
        user = telegram_link_complete(
            token=token, chat_id=message.chat_id, username=message.username
        )
        reply = (
            "Linked: OneClick alerts will arrive here."
            if user
            else "This link has expired or was already used. Make a new one on the OneClick "
            "settings page."
        )
    try:
        send_message(message.chat_id, reply)
    except TelegramDisabled:
        pass
    except Exception:  # the link itself succeeded; a failed reply must not undo it
        logger.warning("Could not reply to a Telegram link message", exc_info=True)
    return JsonResponse({"ok": True})
