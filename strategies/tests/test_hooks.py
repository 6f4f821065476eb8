from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from paper.exchange import PaperExchange
from strategies import hooks
from vault.clients import public_client


@pytest.fixture
def receivers(monkeypatch):
    registered: list = []
    monkeypatch.setattr(hooks, "SIGNAL_RECEIVERS", registered)
    return registered


def test_every_receiver_gets_the_new_signal_ids(receivers) -> None:
    seen: list = []
    receivers.extend([seen.append, seen.append])
    hooks.signals_emitted(["a", "b"])
    assert seen == [["a", "b"], ["a", "b"]]


def test_a_failing_receiver_does_not_starve_the_next(receivers, caplog) -> None:
    seen: list = []

    def broken(ids: list[str]) -> None:
        raise RuntimeError("queue down")

    receivers.extend([broken, seen.append])
    with caplog.at_level(logging.ERROR, logger="strategies.hooks"):
        hooks.signals_emitted(["a"])
    assert seen == [["a"]]
    assert "failed for 1 signal(s)" in caplog.text and "queue down" in caplog.text


def test_nothing_is_called_without_ids(receivers) -> None:
    seen: list = []
    receivers.append(seen.append)
    hooks.signals_emitted([])
    assert seen == []


def test_a_receiver_cannot_change_what_the_next_one_sees(receivers) -> None:
    seen: list = []
    receivers.extend([lambda ids: ids.clear(), seen.append])
    hooks.signals_emitted(["a"])
    assert seen == [["a"]]


def test_market_data_reads_through_vaults_keyless_client_once_the_project_started() -> None:
    client = hooks.public_client("paper")
    assert isinstance(client, PaperExchange) and not client.apiKey
    assert hooks._public_client_factory == [public_client]


def test_without_a_provided_client_market_data_says_what_is_missing(monkeypatch) -> None:
    monkeypatch.setattr(hooks, "_public_client_factory", [])
    with pytest.raises(ImproperlyConfigured, match="market-data client"):
        hooks.public_client("paper")
