from typing import Any, cast

from django.urls import path

from trading.consumers import LiveConsumer

# Django's `path` is typed for views; channels' URLRouter routes ASGI apps through it.
websocket_urlpatterns: list[Any] = [path("ws/live/", cast(Any, LiveConsumer.as_asgi()))]
