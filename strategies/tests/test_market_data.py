from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from django.db import IntegrityError

from strategies import market_data
from strategies.gaps import gaps_refresh
from strategies.market_data import MarketDataError, candle_series, candles_sync
from strategies.models import Candle, CandleGap
from strategies.tests.conftest import NOW
from strategies.timeframes import from_ms, last_closed, step

pytestmark = pytest.mark.django_db
H4 = step("4h")
LAST = last_closed(NOW, "4h")  # 08:00 on NOW's day


class Recorder:
    """A ccxt-shaped client that records the requests made through it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[dict[str, Any]] = []

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list:
        self.calls.append({"symbol": symbol, "since": since, "limit": limit})
        return self.inner.fetch_ohlcv(symbol, timeframe, since=since, limit=limit)


class Canned:
    """Returns the given candles for every request."""

    def __init__(self, candles: list[list[Any]]) -> None:
        self.candles = candles

    def fetch_ohlcv(self, *args: Any, **kwargs: Any) -> list[list[Any]]:
        return self.candles


def stored_times(market: str = "BTC/USDT") -> list[datetime]:
    return list(
        Candle.objects.filter(market=market, timeframe="4h")
        .order_by("open_time")
        .values_list("open_time", flat=True)
    )


def sync(client: Any, *, start: datetime, end: datetime = LAST, market: str = "BTC/USDT") -> int:
    return candles_sync(
        exchange_id="paper", market=market, timeframe="4h", start=start, end=end, client=client
    )


def test_closed_candles_are_stored_and_the_open_one_is_not(paper) -> None:
    added = sync(paper, start=LAST - 9 * H4)
    assert added == 10
    times = stored_times()
    assert times[0] == LAST - 9 * H4 and times[-1] == LAST
    assert all(b - a == H4 for a, b in pairwise(times))


def test_stored_prices_are_the_exchanges_exactly(paper) -> None:
    sync(paper, start=LAST - H4)
    candle = Candle.objects.get(open_time=LAST)
    expected = paper.fetch_ohlcv("BTC/USDT", "4h", since=int(LAST.timestamp() * 1000), limit=1)[0]
    assert candle.close == Decimal(str(expected[4])) and candle.volume == Decimal(str(expected[5]))


def test_a_second_sync_asks_the_exchange_nothing(paper) -> None:
    sync(paper, start=LAST - 5 * H4)
    recorder = Recorder(paper)
    assert sync(recorder, start=LAST - 5 * H4) == 0
    assert recorder.calls == []


def test_a_top_up_asks_only_for_candles_after_the_last_stored(paper, clock) -> None:
    sync(paper, start=LAST - 5 * H4)
    clock.advance(hours=8)
    recorder = Recorder(paper)
    assert sync(recorder, start=LAST - 5 * H4, end=LAST + 2 * H4) == 2
    assert [from_ms(c["since"]) for c in recorder.calls] == [LAST + H4]


def test_fetching_goes_page_by_page(paper, monkeypatch) -> None:
    monkeypatch.setattr(market_data, "PAGE_SIZE", 4)
    recorder = Recorder(paper)
    assert sync(recorder, start=LAST - 9 * H4) == 10
    assert [c["limit"] for c in recorder.calls] == [4, 4, 4]
    assert [from_ms(c["since"]) for c in recorder.calls] == [
        LAST - 9 * H4,
        LAST - 5 * H4,
        LAST - H4,
    ]


def test_a_hole_in_the_stored_range_is_fetched_again_without_duplicates(paper) -> None:
    sync(paper, start=LAST - 5 * H4)
    Candle.objects.filter(open_time=LAST - 2 * H4).delete()
    recorder = Recorder(paper)
    assert sync(recorder, start=LAST - 5 * H4) == 1
    assert from_ms(recorder.calls[0]["since"]) == LAST - 5 * H4
    assert len(stored_times()) == 6


def test_an_earlier_start_backfills_the_older_part(paper) -> None:
    sync(paper, start=LAST - 2 * H4)
    assert sync(paper, start=LAST - 6 * H4) == 4
    assert stored_times()[0] == LAST - 6 * H4


@pytest.mark.parametrize(
    ("candle", "message"),
    [
        ([0, 1, 2, 0.5, 1.5, 10], "on a 4h edge"),
        (["x", 1, 2, 0.5, 1.5, 10], "malformed"),
        ([None, 1, 2, 0.5, 1.5, 10], "malformed"),
        ([1, 2, 0.5], "malformed"),
        ([0, 1, 2, 1.2, 1.5, 10], "low/high"),
        ([0, 1, 1.4, 0.5, 1.5, 10], "low/high"),
        ([0, 0, 2, 0, 1.5, 10], "positive"),
        ([0, 1, 2, 0.5, 1.5, -1], "volume"),
        ([0, 1, 2, 0.5, float("nan"), 10], "finite"),
    ],
)
def test_a_candle_the_exchange_got_wrong_is_refused_and_nothing_of_its_page_stored(
    candle, message
) -> None:
    good = [int(LAST.timestamp() * 1000) - 4 * 3_600_000, 1, 2, 0.5, 1.5, 10]
    if candle[0] == 0:
        candle = [
            int(LAST.timestamp() * 1000) + (-1000 if message == "on a 4h edge" else 0),
            *candle[1:],
        ]
    with pytest.raises(MarketDataError, match=message):
        sync(Canned([good, candle]), start=LAST - H4)
    assert Candle.objects.count() == 0


def test_an_exchange_that_returns_nothing_adds_nothing() -> None:
    assert sync(Canned([]), start=LAST - 3 * H4) == 0


def test_a_candle_is_stored_once_per_exchange_market_timeframe_and_time() -> None:
    values = {"open": 1, "high": 2, "low": 1, "close": 2, "volume": 1}
    Candle.objects.create(
        exchange_id="paper", market="BTC/USDT", timeframe="4h", open_time=LAST, **values
    )
    Candle.objects.create(
        exchange_id="binance", market="BTC/USDT", timeframe="4h", open_time=LAST, **values
    )
    with pytest.raises(IntegrityError):
        Candle.objects.create(
            exchange_id="paper", market="BTC/USDT", timeframe="4h", open_time=LAST, **values
        )


def test_the_database_refuses_a_candle_whose_low_is_above_its_close() -> None:
    with pytest.raises(IntegrityError):
        Candle.objects.create(
            exchange_id="paper", market="BTC/USDT", timeframe="4h", open_time=LAST,
            open=2, high=3, low=2, close=1, volume=1,
        )  # fmt: skip


def test_a_series_is_the_newest_count_candles_oldest_first(paper) -> None:
    sync(paper, start=LAST - 9 * H4)
    series = candle_series(
        exchange_id="paper", market="BTC/USDT", timeframe="4h", until=LAST - H4, count=3
    )
    assert [series.open_time(i) for i in range(3)] == [LAST - 3 * H4, LAST - 2 * H4, LAST - H4]
    since = candle_series(
        exchange_id="paper", market="BTC/USDT", timeframe="4h", until=LAST, since=LAST - 2 * H4
    )
    assert len(since) == 3


def test_an_unknown_market_raises_the_exchanges_error(paper) -> None:
    import ccxt

    with pytest.raises(ccxt.BadSymbol):
        sync(paper, start=LAST - H4, market="DOGE/USDT")


def test_sync_reports_each_page_it_stored(paper, monkeypatch) -> None:
    monkeypatch.setattr(market_data, "PAGE_SIZE", 5)
    seen: list[datetime] = []
    candles_sync(
        exchange_id="paper", market="BTC/USDT", timeframe="4h",
        start=LAST - 9 * H4, end=LAST, client=paper, on_page=seen.append,
    )  # fmt: skip
    assert seen == [LAST - 4 * H4, LAST + H4]


def test_times_are_aware_utc(paper) -> None:
    sync(paper, start=LAST - H4)
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in stored_times())
    assert stored_times()[-1] == datetime(2025, 3, 10, 8, tzinfo=UTC)


def test_a_candle_that_has_not_closed_by_our_clock_is_not_stored(monkeypatch) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: LAST + timedelta(hours=3))
    candle = [int(LAST.timestamp() * 1000), 1, 2, 0.5, 1.5, 10]
    assert sync(Canned([candle]), start=LAST) == 0
    assert Candle.objects.count() == 0


class Halting:
    """The paper exchange with candles it never had: a maintenance halt, a late listing."""

    def __init__(self, inner: Any, *, missing: set[datetime]) -> None:
        self.inner = inner
        self.missing = {int(when.timestamp() * 1000) for when in missing}

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> list:
        page = self.inner.fetch_ohlcv(symbol, timeframe, since=since, limit=limit)
        return [candle for candle in page if candle[0] not in self.missing]


def test_a_window_the_exchange_never_fills_is_remembered_and_not_fetched_again(paper) -> None:
    halt = {LAST - 4 * H4, LAST - 3 * H4}
    assert sync(Halting(paper, missing=halt), start=LAST - 9 * H4) == 8
    [gap] = CandleGap.objects.all()
    assert (gap.first_missing, gap.candles, gap.permanent) == (LAST - 4 * H4, 2, True)
    recorder = Recorder(Halting(paper, missing=halt))
    assert sync(recorder, start=LAST - 9 * H4) == 0
    assert recorder.calls == []  # test fails on main before this change: the range again


def test_a_gap_found_on_import_is_confirmed_permanent_once_the_exchange_skips_it(paper) -> None:
    halt = LAST - 3 * H4
    sync(paper, start=LAST - 6 * H4)
    Candle.objects.filter(open_time=halt).delete()
    gaps_refresh(
        exchange_id="paper", market="BTC/USDT", timeframe="4h", first=LAST - 6 * H4, last=LAST
    )
    assert CandleGap.objects.get().permanent is False
    recorder = Recorder(Halting(paper, missing={halt}))
    assert sync(recorder, start=LAST - 6 * H4) == 0
    assert len(recorder.calls) == 1 and CandleGap.objects.get().permanent is True
    assert sync(recorder, start=LAST - 6 * H4) == 0
    assert len(recorder.calls) == 1


def test_a_market_listed_after_the_start_is_not_asked_for_its_prehistory_again(
    paper, clock
) -> None:
    before_listing = {LAST - i * H4 for i in range(5, 10)}
    exchange = Halting(paper, missing=before_listing)
    assert sync(exchange, start=LAST - 9 * H4) == 5
    assert CandleGap.objects.get().permanent is True
    clock.advance(hours=4)
    recorder = Recorder(exchange)
    assert sync(recorder, start=LAST - 8 * H4, end=LAST + H4) == 1
    assert [from_ms(c["since"]) for c in recorder.calls] == [LAST + H4]


def test_a_hole_that_is_not_the_exchanges_is_still_fetched_again(paper) -> None:
    sync(paper, start=LAST - 5 * H4)
    Candle.objects.filter(open_time=LAST - 2 * H4).delete()
    gaps_refresh(
        exchange_id="paper", market="BTC/USDT", timeframe="4h", first=LAST - 5 * H4, last=LAST
    )
    assert sync(paper, start=LAST - 5 * H4) == 1
    assert not CandleGap.objects.exists()
