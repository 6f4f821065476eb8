"""The three strategies every installation starts with, created on migrate.

Only missing ones are created (each with a fresh key pair); a strategy staff
have edited since is left as it is.
"""

from __future__ import annotations

from typing import Any

from strategies.library.mean_reversion import MeanReversion
from strategies.library.ml import DirectionClassifier
from strategies.library.trend import TrendFollowing
from strategies.models import Strategy

DEFAULT_STRATEGIES: list[dict[str, Any]] = [
    {
        "slug": "trend-rider",
        "name": "Trend Rider",
        "kind": TrendFollowing.key,
        "markets": list(TrendFollowing.default_markets),
        "risk": Strategy.Risk.MEDIUM,
        "description": (
            "Follows sustained moves of the large coins on 4-hour candles: in while the "
            "20-candle average is above the 50-candle one, out when it falls below. Stays "
            "out of new entries when the market is unusually turbulent. Expect many small "
            "losses in sideways markets and a few large gains in trends."
        ),
    },
    {
        "slug": "dip-buyer",
        "name": "Dip Buyer",
        "kind": MeanReversion.key,
        "markets": list(MeanReversion.default_markets),
        "risk": Strategy.Risk.HIGH,
        "description": (
            "Buys half an allocation when a coin has fallen unusually far below its recent "
            "average (Bollinger band, RSI) and sells into the rebound. Works in ranging "
            "markets; in a crash it buys early, which is why its risk is high."
        ),
    },
    {
        "slug": "next-candle",
        "name": "Next Candle (machine learning)",
        "kind": DirectionClassifier.key,
        "markets": list(DirectionClassifier.default_markets),
        "risk": Strategy.Risk.HIGH,
        "description": (
            "A logistic-regression model retrained every week of candles on the previous "
            "1,000 candles, predicting whether the next 4-hour candle closes higher. It "
            "acts only when its prediction is clearly away from a coin toss."
        ),
    },
]


def seed_strategies() -> list[Strategy]:
    """Create the default strategies that do not exist yet; returns those created."""
    from strategies.services import strategy_create

    existing = set(Strategy.objects.values_list("slug", flat=True))
    return [
        strategy_create(**definition)
        for definition in DEFAULT_STRATEGIES
        if definition["slug"] not in existing
    ]
