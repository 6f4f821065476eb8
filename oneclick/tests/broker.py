"""Reading what code queued on the real django-q2 broker (tests run tasks inline otherwise)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage


def queued_packages(monkeypatch: pytest.MonkeyPatch, enqueue: Callable[[], Any]) -> list[dict]:
    """Run ``enqueue`` with tasks queued for real, then take every queued package off."""
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    broker.purge_queue()
    try:
        enqueue()
    finally:
        monkeypatch.setattr(Conf, "SYNC", True)
    packages = []
    for _ in range(50):
        tasks = broker.dequeue()
        if not tasks:
            break
        for ack_id, payload in tasks:
            packages.append(SignedPackage.loads(payload))
            broker.acknowledge(ack_id)
    return packages
