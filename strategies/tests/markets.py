"""Crafted markets for decision-rule tests: each makes one rule's answer obvious."""

from __future__ import annotations

import math
import random


def uptrend(count: int = 120, *, step: float = 0.01, wiggle: float = 0.002) -> list[float]:
    """Rising 1 % a candle with a small zigzag."""
    return [100 * (1 + step) ** i * (1 + wiggle * (-1) ** i) for i in range(count)]


def downtrend(count: int = 120, *, step: float = 0.01, wiggle: float = 0.002) -> list[float]:
    return [100 * (1 - step) ** i * (1 + wiggle * (-1) ** i) for i in range(count)]


def flat(count: int = 120) -> list[float]:
    """Going nowhere: a small zigzag around 100 with a slower ripple."""
    return [100 * (1 + 0.003 * (-1) ** i + 0.001 * math.sin(i / 3)) for i in range(count)]


def coin_flips(count: int = 1200, *, seed: int = 0, move: float = 0.004) -> list[float]:
    """Independent up and down moves: nothing to predict."""
    rng = random.Random(seed)
    closes = [100.0]
    for _ in range(count - 1):
        closes.append(closes[-1] * (1 + rng.choice((-1, 1)) * move))
    return closes
