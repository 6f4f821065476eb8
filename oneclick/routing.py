"""WebSocket routes of every app."""

from __future__ import annotations

from typing import Any, cast

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path

from trading.routing import websocket_urlpatterns as trading_routes

# A socket to a path no app serves (read by nothing: the page never opens one).
CLOSE_NOT_FOUND = 4404


class UnknownSocket(AsyncWebsocketConsumer):
    """Refuses a socket to a path nothing serves, with a close code, instead of the
    router's ValueError (an "Exception inside application" traceback per attempt)."""

    async def connect(self) -> None:
        await self.close(code=CLOSE_NOT_FOUND)


websocket_urlpatterns = [
    *trading_routes,
    re_path(r"", cast(Any, UnknownSocket.as_asgi())),  # last: anything not matched above
]
