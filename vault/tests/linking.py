"""The link form, posted as a user would: one helper for every exchange's link tests."""

from __future__ import annotations

from django.test import Client


def post_link(
    client: Client,
    exchange_id: str,
    api_key: str,
    secret: str = "",
    *,
    label: str = "Main",
    **extra: str,
):
    """POST /keys/link/ with the form's fields; ``extra`` adds or replaces fields."""
    data = {"exchange_id": exchange_id, "label": label, "api_key": api_key, "secret": secret}
    return client.post("/keys/link/", {**data, **extra})
