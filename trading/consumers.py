from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from accounts.otp import has_two_factor
from trading.events import user_group


@database_sync_to_async
def _fully_signed_in(user: Any, session: Any) -> bool:
    """Signed in, and past the one-time code where the user has two-factor on."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not has_two_factor(user):
        return True
    device_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    device = Device.from_persistent_id(device_id) if device_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """Pushes a user's live updates to their open pages. Receives nothing."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await _fully_signed_in(user, self.scope.get("session")):
            await self.close(code=4401)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        # Any frame from the browser gets a clear answer instead of a dropped socket.
        if bytes_data is not None or text_data is None:
            await self.send_json({"error": "binary frames are not accepted"})
            return
        try:
            json.loads(text_data)
        except ValueError:
            await self.send_json({"error": "frames must be JSON"})
            return
        await self.send_json({"error": "this socket only sends updates; it takes no commands"})

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], "data": message["data"]})
