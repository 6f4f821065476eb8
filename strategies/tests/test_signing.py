from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from strategies.models import Signal, Strategy
from strategies.signing import (
    canonical_payload,
    generate_key_pair,
    is_fresh,
    sign_signal,
    verify_signal,
)
from strategies.tests.factories import SignalFactory, StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def signal() -> Signal:
    return SignalFactory()


def stored(signal: Signal) -> Signal:
    return Signal.objects.select_related("strategy").get(pk=signal.pk)


def test_a_signed_signal_verifies_with_its_strategys_public_key(signal: Signal) -> None:
    assert verify_signal(stored(signal), signal.strategy.public_key)


def test_the_payload_survives_a_database_round_trip(signal: Signal) -> None:
    assert canonical_payload(stored(signal)) == canonical_payload(signal)


def test_the_payload_names_every_field_that_decides_a_trade(signal: Signal) -> None:
    payload = canonical_payload(signal).decode()
    assert payload.startswith("oneclick.signal.v1\n")
    for value in [
        str(signal.id), signal.strategy.slug, "BTC/USDT", '"buy"', '"0.5000"', '"0.7500"',
        signal.nonce, signal.period.strftime("%Y-%m-%dT%H:%M:%S"),
    ]:  # fmt: skip
        assert value in payload


TAMPERINGS = {
    "id": lambda s: setattr(s, "id", uuid.uuid4()),
    "market": lambda s: setattr(s, "market", "ETH/USDT"),
    "action": lambda s: setattr(s, "action", Signal.Action.SELL),
    "fraction": lambda s: setattr(s, "fraction", Decimal("1.0000")),
    "confidence": lambda s: setattr(s, "confidence", Decimal("0.9900")),
    "period": lambda s: setattr(s, "period", s.period + timedelta(hours=4)),
    "created_at": lambda s: setattr(s, "created_at", s.created_at + timedelta(microseconds=1)),
    "nonce": lambda s: setattr(s, "nonce", "0" * 32),
    "signature": lambda s: setattr(
        s, "signature", s.signature[:-2] + ("00" if s.signature[-2:] != "00" else "01")
    ),
}


@pytest.mark.parametrize("field", TAMPERINGS)
def test_a_tampered_field_fails_verification(signal: Signal, field: str) -> None:
    tampered = stored(signal)
    TAMPERINGS[field](tampered)
    assert not verify_signal(tampered, signal.strategy.public_key)


def test_a_signal_moved_to_another_strategy_fails_verification(signal: Signal) -> None:
    other = StrategyFactory(public_key=signal.strategy.public_key)
    moved = stored(signal)
    moved.strategy = other
    assert not verify_signal(moved, signal.strategy.public_key)


def test_a_signature_by_another_key_fails(signal: Signal) -> None:
    _, other_public = generate_key_pair()
    assert not verify_signal(stored(signal), other_public)


@pytest.mark.parametrize("public_key", ["", "zz", "00" * 31, "00" * 33, None, 42, "ab" * 32 + "\n"])
def test_a_malformed_public_key_fails_without_raising(signal: Signal, public_key) -> None:
    assert verify_signal(stored(signal), public_key) is False


@pytest.mark.parametrize("signature", ["", "not hex", "00" * 63, "00" * 65, "00" * 64, None])
def test_a_malformed_signature_fails_without_raising(signal: Signal, signature) -> None:
    broken = stored(signal)
    broken.signature = signature
    assert verify_signal(broken, signal.strategy.public_key) is False


def test_a_naive_time_fails_verification_without_raising(signal: Signal) -> None:
    broken = stored(signal)
    broken.created_at = datetime(2025, 1, 1)  # noqa: DTZ001 - the point of the test
    assert verify_signal(broken, signal.strategy.public_key) is False


def test_signing_a_naive_time_is_refused() -> None:
    signal = SignalFactory.build(strategy=StrategyFactory(), created_at=datetime(2025, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="aware"):
        sign_signal(signal)


def test_signing_uses_the_strategys_own_key() -> None:
    strategy = StrategyFactory()
    signal = SignalFactory(strategy=strategy)
    assert verify_signal(signal, strategy.public_key)
    assert not verify_signal(signal, StrategyFactory().public_key)


def test_a_signal_is_fresh_within_its_strategys_max_age(signal: Signal) -> None:
    signal.strategy.max_signal_age = 600
    created = signal.created_at
    assert is_fresh(signal, now=created)
    assert is_fresh(signal, now=created + timedelta(seconds=600))
    assert not is_fresh(signal, now=created + timedelta(seconds=601))


def test_a_signal_from_the_future_is_not_fresh_beyond_clock_skew(signal: Signal) -> None:
    assert is_fresh(signal, now=signal.created_at - timedelta(seconds=30))
    assert not is_fresh(signal, now=signal.created_at - timedelta(minutes=5))


def test_freshness_defaults_to_now(signal: Signal) -> None:
    assert is_fresh(signal)
    signal.created_at -= timedelta(seconds=signal.strategy.max_signal_age + 1)
    assert not is_fresh(signal)


def test_signing_keys_are_re_encrypted_by_a_vault_key_rotation_and_still_sign(settings) -> None:
    before = {s.slug: s.private_key for s in Strategy.objects.all()}
    settings.VAULT_KEYS = [Fernet.generate_key().decode(), settings.VAULT_KEYS[0]]
    call_command("rotate_vault_keys", stdout=io.StringIO())
    settings.VAULT_KEYS = settings.VAULT_KEYS[:1]  # the old vault key is gone
    for strategy in Strategy.objects.all():
        assert strategy.private_key == before[strategy.slug]
        assert verify_signal(SignalFactory(strategy=strategy), strategy.public_key)


def test_a_signals_cost_is_signed_when_set_and_signals_without_one_verify_as_before() -> None:
    plain = SignalFactory()
    assert '"cost"' not in canonical_payload(plain).decode()  # older signals: same bytes
    costed = SignalFactory(action=Signal.Action.TARGET, cost=Decimal("0.0021"))
    assert '"cost":"0.002100"' in canonical_payload(costed).decode()
    assert verify_signal(Signal.objects.get(pk=costed.pk), costed.strategy.public_key)
    for forged in (Decimal("0.5"), None):
        tampered = Signal.objects.get(pk=costed.pk)
        tampered.cost = forged
        assert not verify_signal(tampered, costed.strategy.public_key)
