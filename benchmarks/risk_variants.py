"""Trend Rider variants against buy-and-hold: how the overlay's settings were tried.

Run: ``.venv/bin/python benchmarks/risk_variants.py dev|cycles|report 'JSON'``
where JSON is a list of variants, each ``{"p": {params}, "x": {extra rules}}``;
``{}`` is the shipped settings. ``p`` overrides Trend Rider's parameters
(``strategies/seed.py``, risk overlay included). ``x`` adds an entry rule the
shipped model does not have, applied to its buys only (a buy becomes a hold, so
a position held is left to the model's sell and the brake), each reading
candles up to the decision's own only:

- ``persist``: k candles in a row with the crossover above the band;
- ``cooldown``: no crossover below minus the band in the last k candles (a
  re-entry cool-down after an exit signal);
- ``er_window`` with ``er_min``: Kaufman's efficiency ratio over n candles (net
  move / sum of the moves, signed) at least ``er_min`` (a chop filter);
- ``breakout``: the close at the highest close of the last k candles;
- ``er_window`` with ``er_full``: the buy scaled by efficiency / ``er_full``
  (asymmetric exposure: full size only in an efficient trend);
- ``weak_frac`` with ``strong_dist``, ``strong_near`` and/or ``strong_er``: the
  buy times ``weak_frac`` unless the trend is strong (the close at least
  ``strong_dist`` above the overlay's long average, within ``strong_near`` of
  its recent high, efficiency at least ``strong_er``); with a higher
  ``risk_target_vol`` that holds more only in a strong trend.

One summary line per variant: development series meeting the target, the worst
and median ratio of max drawdown to holding's, the median Calmar margin, and the
bull-bear-bull stand-in's figures. Series as in ``risk_report.py``
(``--development``, ``--cycles`` and the report's held-out set). About 20 s a
variant on the development set, 40 s on the cycles.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from risk_report import cycle_series, development_series, setup


def _rolling(values: np.ndarray, window: int, reduce: Any) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        out[window - 1 :] = reduce(sliding_window_view(values, window), axis=1)
    return out


def _efficiency(close: np.ndarray, window: int) -> np.ndarray:
    out = np.full(len(close), np.nan)
    if len(close) > window:
        path = sliding_window_view(np.abs(np.diff(close)), window).sum(axis=1)
        net = close[window:] - close[:-window]
        out[window:] = np.where(path > 0, net / np.where(path > 0, path, 1.0), 0.0)
    return out


def variant_class() -> type:
    from strategies.library.base import BUY, STAY, Decision, share
    from strategies.library.trend import TrendFollowing

    class Variant(TrendFollowing):
        def __init__(self, params: dict[str, float], extra: dict[str, float]) -> None:
            super().__init__(params)
            self.__dict__["extra"] = dict(extra)

        @property
        def signal_lookback(self) -> int:
            e = self.extra
            return int(
                max(
                    self.slow + max(e.get("persist", 1), e.get("cooldown", 1)),
                    self.vol_window + 1,
                    e.get("er_window", 0) + 1,
                    e.get("breakout", 0) + 1,
                )
            )

        def features(self, series: Any) -> np.ndarray:
            base = super().features(series)
            close, e = series.close, self.extra
            spread = base[:, 0] / base[:, 1] - 1.0
            persist, cooldown = int(e.get("persist", 1)), int(e.get("cooldown", 1))
            window = int(e.get("er_window", 0))
            breakout = int(e.get("breakout", 0))
            return np.column_stack(
                [
                    base,
                    _rolling(spread, persist, np.min) if persist > 1 else spread,
                    _rolling(spread, cooldown, np.min) if cooldown > 1 else spread,
                    _efficiency(close, window) if window else np.ones(len(close)),
                    close,
                    _rolling(close, breakout, np.max) if breakout else close,
                    self.overlay.features(series)[:, 1:3],
                ]
            )

        def decide(self, row: np.ndarray, state: Any = None) -> Any:
            decision = super().decide(row[:3], state)
            if decision.action != BUY:
                return decision
            persisted, cooled, er, close, high, average, top = (float(v) for v in row[3:])
            e = self.extra
            if np.isnan([persisted, cooled, er, high]).any():
                return STAY
            if persisted <= self.band or cooled < -self.band:
                return STAY
            if "er_min" in e and er < e["er_min"]:
                return STAY
            if e.get("breakout") and close < high:
                return STAY
            if e.get("weak_frac"):
                strong = (
                    close >= average * (1 + e.get("strong_dist", 0.0))
                    and close >= top * (1 - e.get("strong_near", 1.0))
                    and er >= e.get("strong_er", -1.0)
                )
                if not strong:
                    scaled = float(decision.fraction) * e["weak_frac"]
                    return Decision(BUY, share(scaled), decision.confidence)
                return decision
            if e.get("er_full"):
                scaled = float(decision.fraction) * min(1.0, max(0.0, er / e["er_full"]))
                return Decision(BUY, share(scaled), decision.confidence)
            return decision

    return Variant


def main() -> None:
    setup()
    from strategies.backtest import Costs, run_backtest
    from strategies.performance import beats_buy_and_hold, buy_and_hold, summary_of
    from strategies.reference_data import default_data_dirs, load_series_files
    from strategies.seed import DEFAULT_STRATEGIES
    from strategies.synthetic import REGIMES, regime_series

    which, variants = sys.argv[1], json.loads(sys.argv[2])
    real = list(load_series_files(default_data_dirs()))
    if which == "dev":
        series = development_series(real)
    elif which == "cycles":
        series = cycle_series(real)
    else:
        series = real + [(f"synthetic {name} 4h", regime_series(name)) for name in REGIMES]
    shipped = next(d["params"] for d in DEFAULT_STRATEGIES if d["slug"] == "trend-rider")
    costs = Costs(fee_rate=Decimal("0.001"), slippage_rate=Decimal("0.0005"))
    capital = Decimal(10_000)
    Variant = variant_class()
    for variant in variants:
        began = time.monotonic()
        met, ratios, margins, notes = 0, [], [], []
        for name, candles in series:
            model = Variant({**shipped, **variant.get("p", {})}, variant.get("x", {}))
            result = run_backtest(model, candles, capital=capital, costs=costs)
            held = summary_of(
                buy_and_hold(candles, start=result.ledger.start, capital=capital, costs=costs),
                candles.timeframe,
            )
            mine = summary_of(result, candles.timeframe)
            ok = beats_buy_and_hold(mine, held)
            met += ok
            ratios.append(float(mine.max_drawdown / held.max_drawdown))
            margins.append(float((mine.calmar or 0) - (held.calmar or 0)))
            if name.startswith("BTC x1.5: bull"):
                notes.append(
                    f"{name}: {-float(mine.max_drawdown) * 100:.1f} %, {float(mine.calmar or 0):.2f}"
                )
            if not ok:
                notes.append(f"missed {name}")
        print(
            f"{json.dumps(variant)}: met {met}/{len(series)}, worst DD ratio {max(ratios):.2f}, "
            f"median {np.median(ratios):.2f}, median Calmar margin {np.median(margins):+.2f}; "
            f"{'; '.join(notes)} [{time.monotonic() - began:.0f} s]",
            flush=True,
        )


if __name__ == "__main__":
    main()
