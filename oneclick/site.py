from __future__ import annotations

from django.conf import settings
from django.urls import reverse


def absolute_url(name: str, *args: object) -> str:
    """A full URL for emails, on the host given by ``SITE_URL``."""
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)
