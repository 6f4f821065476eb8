"""The registry: every decision model a ``Strategy.kind`` can name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

from strategies.library.base import StrategyModel
from strategies.library.mean_reversion import MeanReversion
from strategies.library.ml import DirectionClassifier
from strategies.library.trend import TrendFollowing
from strategies.timeframes import TIMEFRAME_SECONDS

REGISTRY: dict[str, type[StrategyModel]] = {
    model.key: model for model in (TrendFollowing, MeanReversion, DirectionClassifier)
}


class UnknownKind(LookupError):
    pass


def model_class(kind: str) -> type[StrategyModel]:
    try:
        return REGISTRY[kind]
    except KeyError:
        raise UnknownKind(f"No strategy model is called {kind!r}.") from None


def build_model(kind: str, params: Mapping[str, Any] | None = None) -> StrategyModel:
    """The model for ``kind`` with ``params``; UnknownKind or ValueError when they are wrong."""
    return model_class(kind)(params)


def validate_definition(*, kind: str, params: object, markets: object, timeframe: str) -> None:
    """Raise ValidationError (per field) unless a strategy with these settings can run."""
    errors: dict[str, str] = {}
    if kind not in REGISTRY:
        errors["kind"] = f"Choose one of: {', '.join(sorted(REGISTRY))}."
    elif not isinstance(params, Mapping):
        errors["params"] = "Parameters must be an object of name: number."
    else:
        try:
            REGISTRY[kind].validate(params)
        except ValueError as exc:
            errors["params"] = str(exc)
    if (
        not isinstance(markets, list)
        or not markets
        or not all(isinstance(m, str) and _is_symbol(m) for m in markets)
        or len(set(markets)) != len(markets)
    ):
        errors["markets"] = 'List distinct symbols like ["BTC/USDT", "ETH/USDT"].'
    if timeframe not in TIMEFRAME_SECONDS:
        errors["timeframe"] = f"Choose one of: {', '.join(TIMEFRAME_SECONDS)}."
    if errors:
        raise ValidationError(errors)


def _is_symbol(market: str) -> bool:
    base, _, quote = market.partition("/")
    return bool(base) and bool(quote) and base.isalnum() and quote.isalnum() and len(market) <= 30
