"""WebSocket routes of every app; live pages add theirs here."""

from __future__ import annotations

websocket_urlpatterns: list = []
