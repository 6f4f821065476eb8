from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from accounts.otp import has_two_factor
from trading.events import CLOSE_SESSION_CHANGED, CLOSE_SIGNED_OUT, user_group
from trading.frames import frame_error

# A page has nothing to send; one that keeps sending is closed rather than answered forever.
MAX_BAD_FRAMES = 20
CLOSE_TOO_MANY_FRAMES = 4400


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

    bad_frames = 0

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not await _fully_signed_in(user, self.scope.get("session")):
            await self.close(code=CLOSE_SIGNED_OUT)
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
        # Checked before parsing: size and nesting are capped (trading/frames.py).
        self.bad_frames += 1
        await self.send_json({"error": frame_error(text_data, bytes_data)})
        if self.bad_frames >= MAX_BAD_FRAMES:
            await self.close(code=CLOSE_TOO_MANY_FRAMES)

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], "data": message["data"]})

    async def session_end(self, message: dict[str, Any]) -> None:
        # Channels checks the session only at connect: a logout, password change
        # or 2FA change elsewhere closes every socket of the user, and the page
        # reconnects, which checks the session again.
        await self.close(code=CLOSE_SESSION_CHANGED)
