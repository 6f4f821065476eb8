"""Holes in stored candle history: found, described, and remembered.

A gap is a run of candles missing between two stored ones. Exchanges leave
some for good (Binance's 2023-03-24 halt has no 13:00 candle, in its dumps or
its API); ``CandleGap.permanent`` marks those the exchange itself skipped when
asked, so fetching does not ask for them on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from strategies.models import Candle, CandleGap
from strategies.timeframes import from_ms, step, to_ms

LISTED_GAPS = 5


@dataclass(frozen=True)
class Gap:
    first_missing: datetime
    last_missing: datetime
    candles: int
    permanent: bool = False

    def overlaps(self, first: datetime, last: datetime) -> bool:
        return self.first_missing <= last and self.last_missing >= first


def find_gaps(open_times_ms: Iterable[int], width_ms: int) -> list[Gap]:
    """Gaps between consecutive open times (sorted, distinct, epoch milliseconds)."""
    gaps: list[Gap] = []
    previous: int | None = None
    for current in open_times_ms:
        if previous is not None and current - previous > width_ms:
            missing = (current - previous) // width_ms - 1
            if missing:
                gaps.append(
                    Gap(
                        first_missing=from_ms(previous + width_ms),
                        last_missing=from_ms(previous + missing * width_ms),
                        candles=missing,
                    )
                )
        previous = current
    return gaps


@dataclass(frozen=True)
class GapReport:
    """Count, longest and where: what a person checking imported history asks first."""

    gaps: tuple[Gap, ...]

    @property
    def count(self) -> int:
        return len(self.gaps)

    @property
    def missing(self) -> int:
        return sum(gap.candles for gap in self.gaps)

    @property
    def permanent(self) -> int:
        return sum(1 for gap in self.gaps if gap.permanent)

    @property
    def longest(self) -> Gap | None:
        return max(self.gaps, key=lambda gap: gap.candles, default=None)

    def lines(self, limit: int = LISTED_GAPS) -> list[str]:
        longest = self.longest
        if longest is None:
            return ["no gaps"]
        lines = [
            f"{self.count} gap(s), {self.missing} candle(s) missing; longest "
            f"{longest.candles} candle(s) from {describe_gap(longest)}"
        ]
        shown = sorted(self.gaps, key=lambda gap: (-gap.candles, gap.first_missing))[:limit]
        lines += [f"  {gap.candles} missing: {describe_gap(gap)}" for gap in shown]
        if self.count > limit:
            lines.append(f"  … and {self.count - limit} more")
        return lines


def describe_gap(gap: Gap | CandleGap) -> str:
    return f"{gap.first_missing:%Y-%m-%d %H:%M} to {gap.last_missing:%Y-%m-%d %H:%M} UTC"


def _stored_times(key: dict[str, str], first: datetime, last: datetime) -> list[int]:
    """Open times stored in [first, last], with the stored neighbour on each side."""
    candles = Candle.objects.filter(**key)
    before = (
        candles.filter(open_time__lt=first)
        .order_by("-open_time")
        .values_list("open_time", flat=True)
        .first()
    )
    after = (
        candles.filter(open_time__gt=last).order_by("open_time").values_list("open_time", flat=True)
    ).first()
    inside = candles.filter(open_time__gte=first, open_time__lte=last).order_by("open_time")
    times = [to_ms(when) for when in inside.values_list("open_time", flat=True)]
    return ([to_ms(before)] if before else []) + times + ([to_ms(after)] if after else [])


def gaps_refresh(
    *,
    exchange_id: str,
    market: str,
    timeframe: str,
    first: datetime,
    last: datetime,
    skipped: Sequence[Gap] = (),
) -> GapReport:
    """Re-read the stored candles around [first, last] and store the gaps between them.

    Gaps recorded earlier in that stretch are replaced (a filled one goes away).
    A gap is permanent when it was permanent before or lies in a window the
    exchange skipped (``skipped``). Returns the gaps of the stretch.
    """
    key = {"exchange_id": exchange_id, "market": market, "timeframe": timeframe}
    width = step(timeframe)
    times = _stored_times(key, first, last)
    found = find_gaps(times, int(width.total_seconds() * 1000))
    if not times:
        return GapReport(())
    low, high = from_ms(times[0]), from_ms(times[-1])
    with transaction.atomic():
        between = CandleGap.objects.filter(
            **key, first_missing__gt=low, last_missing__lt=high
        ).select_for_update()
        was_permanent = [
            Gap(row.first_missing, row.last_missing, row.candles)
            for row in between
            if row.permanent
        ]
        between.delete()
        CandleGap.objects.bulk_create(
            [
                CandleGap(
                    **key,
                    first_missing=gap.first_missing,
                    last_missing=gap.last_missing,
                    candles=gap.candles,
                    permanent=any(
                        known.overlaps(gap.first_missing, gap.last_missing)
                        for known in (*was_permanent, *skipped)
                    ),
                )
                for gap in found
            ]
        )
    return GapReport(tuple(found))


def leading_gap_remember(*, exchange_id: str, market: str, timeframe: str, gap: Gap) -> None:
    """The exchange has nothing before its first candle here (a market listed later)."""
    CandleGap.objects.update_or_create(
        exchange_id=exchange_id,
        market=market,
        timeframe=timeframe,
        first_missing=gap.first_missing,
        defaults={"last_missing": gap.last_missing, "candles": gap.candles, "permanent": True},
    )


def permanent_gaps(
    *, exchange_id: str, market: str, timeframe: str, first: datetime, last: datetime
) -> list[Gap]:
    """Windows in [first, last] the exchange will never fill, oldest first."""
    rows = CandleGap.objects.filter(
        exchange_id=exchange_id,
        market=market,
        timeframe=timeframe,
        permanent=True,
        first_missing__lte=last,
        last_missing__gte=first,
    ).order_by("first_missing")
    return [Gap(row.first_missing, row.last_missing, row.candles) for row in rows]


def missing_inside(gaps: Sequence[Gap], first: datetime, last: datetime, width: timedelta) -> int:
    """How many of the candles in [first, last] fall in ``gaps``."""
    total = 0
    for gap in gaps:
        low, high = max(gap.first_missing, first), min(gap.last_missing, last)
        if low <= high:
            total += (high - low) // width + 1
    return total


def gaps_of_markets(
    *, exchange_id: str, timeframe: str, markets: Sequence[str]
) -> dict[str, GapReport]:
    """Every stored gap of ``markets``, per market: one query."""
    found: dict[str, list[Gap]] = {market: [] for market in markets}
    rows = CandleGap.objects.filter(
        Q(exchange_id=exchange_id, timeframe=timeframe, market__in=list(markets))
    ).order_by("first_missing")
    for row in rows:
        found[row.market].append(
            Gap(row.first_missing, row.last_missing, row.candles, permanent=row.permanent)
        )
    return {market: GapReport(tuple(gaps)) for market, gaps in found.items()}
