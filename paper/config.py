"""How a paper exchange behaves: seed, starting money, fees, fills and limits.

Defaults come from settings (``PAPER_*``), read when a config is built so tests
can override them with pytest-django's ``settings`` fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from paper.clock import system_clock

DEFAULT_STARTING_BALANCES: Mapping[str, str] = {"USDT": "10000", "USDC": "10000"}


def _decimal_map(values: Mapping[str, object]) -> dict[str, Decimal]:
    return {asset.upper(): Decimal(str(amount)) for asset, amount in values.items()}


@dataclass(frozen=True)
class PaperConfig:
    # Same seed → same prices in every process; a different seed is another market history.
    seed: int = 42
    starting_balances: Mapping[str, Decimal] = field(
        default_factory=lambda: _decimal_map(DEFAULT_STARTING_BALANCES)
    )
    taker_fee: Decimal = Decimal("0.001")
    maker_fee: Decimal = Decimal("0.0008")
    # Market orders pay this much over/under the synthetic price, plus an impact
    # proportional to the chunk's share of ``max_fill_notional``.
    slippage_bps: Decimal = Decimal("2")
    impact_bps: Decimal = Decimal("8")
    # An order worth more than this (in quote) fills in chunks of this size, one
    # chunk per minute: the first now, the rest on later calls.
    max_fill_notional: Decimal = Decimal("50000")
    # Requests per account per clock minute; None switches this limiter off.
    rate_limit_per_minute: int | None = None
    # Request weight per account per clock minute (Binance: 6,000 per IP); None: off.
    weight_limit_per_minute: int | None = 6000
    # New orders per account per 10-second window (Binance: 50); None: no limit.
    order_limit_per_10s: int | None = 50
    # Simulated network time per request, in milliseconds: half before the
    # exchange acts, half after, never while a database lock is held.
    latency_ms: float = 0
    # Binance accepts a reused newClientOrderId once the earlier order is filled;
    # the paper exchange refuses any reuse unless this is on (the emulator turns it on).
    reuse_client_order_id_after_fill: bool = False
    clock: Callable[[], datetime] = system_clock

    @classmethod
    def from_settings(cls, **overrides: object) -> PaperConfig:
        values: dict[str, object] = {
            "seed": int(getattr(settings, "PAPER_SEED", 42)),
            "starting_balances": _decimal_map(
                getattr(settings, "PAPER_STARTING_BALANCES", DEFAULT_STARTING_BALANCES)
            ),
            "taker_fee": Decimal(str(getattr(settings, "PAPER_TAKER_FEE", "0.001"))),
            "maker_fee": Decimal(str(getattr(settings, "PAPER_MAKER_FEE", "0.0008"))),
            "slippage_bps": Decimal(str(getattr(settings, "PAPER_SLIPPAGE_BPS", "2"))),
            "impact_bps": Decimal(str(getattr(settings, "PAPER_IMPACT_BPS", "8"))),
            "max_fill_notional": Decimal(
                str(getattr(settings, "PAPER_MAX_FILL_NOTIONAL", "50000"))
            ),
            "rate_limit_per_minute": getattr(settings, "PAPER_RATE_LIMIT_PER_MINUTE", None),
            "weight_limit_per_minute": getattr(settings, "PAPER_WEIGHT_LIMIT_PER_MINUTE", 6000),
            "reuse_client_order_id_after_fill": bool(
                getattr(settings, "PAPER_REUSE_CLIENT_ORDER_ID_AFTER_FILL", False)
            ),
            "order_limit_per_10s": getattr(settings, "PAPER_ORDER_LIMIT_PER_10S", 50),
            "latency_ms": float(getattr(settings, "PAPER_LATENCY_MS", 0)),
        }
        values.update(overrides)
        if "starting_balances" in overrides:
            values["starting_balances"] = _decimal_map(overrides["starting_balances"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    def now(self) -> datetime:
        return self.clock()
