"""WebSocket routes of every app."""

from __future__ import annotations

from trading.routing import websocket_urlpatterns as trading_routes

websocket_urlpatterns = [*trading_routes]
