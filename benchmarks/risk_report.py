"""Every default strategy against buy-and-hold, on real and synthetic markets.

Run: ``.venv/bin/python benchmarks/risk_report.py [--data DIR] [--only trend-rider]
[--development | --cycles]``

Strategies: the shipped defaults (``strategies.seed``) with their own
parameters, risk overlay included, plus the retired mean reversion and
machine-learned direction for the record.
Real series: each market's Binance dump in ``--data`` (default: the shipped
``strategies/data`` history, then ``../shared/data`` beside the clone) at the
strategies' 4 h timeframe (a market with only 1 h candles is resampled from
complete hours); synthetic: the bear, bull, sideways and crash regimes of
``strategies.synthetic.regime_series``. The same parameters on every series.
Each run goes through the project's own backtest: 0.1 % fees, the default
0.05 % slippage, decisions executed at the next open. Buy-and-hold is bought at
the same open, with the same costs. The target (issue 11): max drawdown at
most half of buy-and-hold's and a Calmar ratio above it. Prints Markdown.

``--development`` reports instead the development set the overlay's settings
were chosen on (so the series above stay held out): the synthetic regimes at
seeds 1-5, each real series mirrored (its log price turned upside down: a bull
market becomes a bear market with the same turbulence), and a stand-in for a
multi-year cycle through a -80 % bear market that we do not have: real BTC
2023-2026 with its moves made 1.5 times larger (about the 70 % a year BTC moved
in 2017-2022), then mirrored, then again (bull, bear, bull), and bear then bull.

``--cycles`` reports a wider panel of such stand-ins, for the series the issue's
owners check on (a multi-year cycle through a -80 % bear market): every real
series with its moves made 1.2, 1.5 and 1.8 times larger, as bull-bear-bull and
as bear-bull (18 series from BTC, ETH and SOL). It is a robustness check on
settings chosen on the development set, not a second set to choose on: a
setting that looks better on the one stand-in of the development set but not
across this panel has been fitted to that stand-in's path.
"""

from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import django

if TYPE_CHECKING:
    from strategies.series import CandleSeries

    Named = list[tuple[str, CandleSeries]]

ROOT = Path(__file__).resolve().parent.parent


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oneclick.settings")
    django.setup()


def pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{float(value) * 100:+.1f} %"


def ratio(value: Decimal | None) -> str:
    return "—" if value is None else f"{float(value):.2f}"


Q = Decimal("0.01")


def reshaped(series: CandleSeries, scale: float) -> CandleSeries:
    """``series`` with each log-price move times ``scale`` (negative: mirrored),
    from the same first open; highs and lows stay the candle's extremes."""
    import numpy as np

    from strategies.series import CandleSeries
    from strategies.timeframes import from_ms

    base = float(series.open[0])
    o, h, lo, c = (
        base * np.exp(scale * np.log(getattr(series, name) / base))
        for name in ("open", "high", "low", "close")
    )
    top, bottom = np.maximum.reduce([o, h, lo, c]), np.minimum.reduce([o, h, lo, c])
    rows = [
        (from_ms(int(t)), *(Decimal(repr(float(v))).quantize(Q) for v in values), Decimal(1))
        for t, *values in zip(series.open_ms, o, top, bottom, c, strict=True)
    ]
    return CandleSeries.from_rows(series.timeframe, rows)


def joined(*parts: CandleSeries) -> CandleSeries:
    """The parts one after the other, each rescaled to open at the last close before it."""
    from strategies.series import CandleSeries
    from strategies.timeframes import from_ms, seconds_of

    width = seconds_of(parts[0].timeframe) * 1000
    start = int(parts[0].open_ms[0])
    rows: list[tuple[object, ...]] = []
    level = 1.0
    for part in parts:
        if rows:
            level = float(str(rows[-1][4])) / float(part.open[0])
        for i in range(len(part)):
            values = (part.open[i], part.high[i], part.low[i], part.close[i])
            rows.append(
                (
                    from_ms(start + len(rows) * width),
                    *(Decimal(repr(float(v) * level)).quantize(Q) for v in values),
                    Decimal(1),
                )
            )
    return CandleSeries.from_rows(parts[0].timeframe, rows)


def development_series(real: Named) -> Named:
    from strategies.synthetic import REGIMES, regime_series

    out: Named = [
        (f"synthetic {name} 4h, seed {seed}", regime_series(name, seed=seed))
        for seed in range(1, 6)
        for name in REGIMES
    ]
    out += [(f"{name} mirrored", reshaped(candles, -1.0)) for name, candles in real]
    btc = dict(real).get("BTCUSDT 4h")
    if btc is not None:
        up, down = reshaped(btc, 1.5), reshaped(btc, -1.5)
        out.append(("BTC x1.5: bull, bear, bull", joined(up, down, up)))
        out.append(("BTC x1.5: bear, bull", joined(down, up)))
    return out


CYCLE_SCALES = (1.2, 1.5, 1.8)


def cycle_series(real: Named) -> Named:
    out: Named = []
    for name, candles in real:
        for scale in CYCLE_SCALES:
            up, down = reshaped(candles, scale), reshaped(candles, -scale)
            out.append((f"{name} x{scale}: bull, bear, bull", joined(up, down, up)))
            out.append((f"{name} x{scale}: bear, bull", joined(down, up)))
    return out


def main() -> None:
    setup()
    from strategies.backtest import Costs, run_backtest
    from strategies.library import build_model
    from strategies.performance import beats_buy_and_hold, buy_and_hold, summary_of
    from strategies.reference_data import default_data_dirs, load_series_files
    from strategies.seed import DEFAULT_STRATEGIES
    from strategies.synthetic import REGIMES, regime_series

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", help="folder of SYMBOL-TF.csv")
    parser.add_argument("--only", help="one strategy slug")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--development", action="store_true", help="the development set, not the report's"
    )
    which.add_argument(
        "--cycles", action="store_true", help="stand-ins for a multi-year bull-bear cycle"
    )
    args = parser.parse_args()

    series = list(load_series_files(args.data or default_data_dirs()))
    if args.development:
        series = development_series(series)
    elif args.cycles:
        series = cycle_series(series)
    else:
        series += [(f"synthetic {name} 4h", regime_series(name)) for name in REGIMES]
    strategies = [(d["slug"], d["kind"], d.get("params", {})) for d in DEFAULT_STRATEGIES]
    strategies.append(("dip-buyer (retired)", "mean_reversion", {}))
    strategies.append(("next-candle (retired)", "ml_direction", {}))
    if args.only:
        strategies = [s for s in strategies if s[0] == args.only]

    costs = Costs(fee_rate=Decimal("0.001"), slippage_rate=Decimal("0.0005"))
    capital = Decimal(10_000)
    print(
        "| series | strategy | return | CAGR | max DD | Calmar | in market | trades "
        "| B&H return | B&H CAGR | B&H max DD | B&H Calmar | target |"
    )
    print(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    )
    passed = total = 0
    for name, candles in series:
        for slug, kind, params in strategies:
            model = build_model(kind, params)
            result = run_backtest(model, candles, capital=capital, costs=costs)
            start = result.ledger.start
            held = summary_of(
                buy_and_hold(candles, start=start, capital=capital, costs=costs), candles.timeframe
            )
            mine = summary_of(result, candles.timeframe)
            ok = beats_buy_and_hold(mine, held)
            if "retired" not in slug:
                passed += ok
                total += 1
            print(
                f"| {name} | {slug} | {pct(mine.total_return)} | {pct(mine.cagr)} "
                f"| {pct(-mine.max_drawdown)} | {ratio(mine.calmar)} | {pct(mine.exposure)} "
                f"| {mine.trades} | {pct(held.total_return)} | {pct(held.cagr)} "
                f"| {pct(-held.max_drawdown)} | {ratio(held.calmar)} | {'met' if ok else 'MISSED'} |",
                flush=True,
            )
    print(f"\nShipped strategies: target met in {passed} of {total} runs.")


if __name__ == "__main__":
    main()
