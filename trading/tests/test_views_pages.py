"""The pages people watch their money on: dashboard, history, export, formatting, speed."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from accounts.tests.factories import UserFactory
from strategies.tests.factories import SignalFactory
from trading.exports import COLUMNS
from trading.models import ActivityIncident, Balance, Bot, Decision, EquitySnapshot, Fill, Order
from trading.schedules import ensure_schedules
from trading.snapshots import slot_of, snapshots_take
from trading.tests.factories import BotFactory, FillFactory, OrderFactory
from vault.tests.factories import CredentialFactory

pytestmark = pytest.mark.django_db


def render(source: str, **context: object) -> str:
    return Template("{% load formatting %}" + source).render(Context(context))


class TestMoney:
    @pytest.mark.parametrize(
        ("value", "unit", "shown"),
        [
            (Decimal("60098.280000000000"), "USDT", "60,098.28 USDT"),
            (Decimal("1000.000000000000"), "USDT", "1,000.00 USDT"),
            (Decimal("0.016640000000"), "BTC/USDT", "0.01664 BTC"),
            (Decimal("0.0000123456"), "USDT", "0.00001235 USDT"),
            (Decimal("-0.0000001"), "USDC", "-0.0000001 USDC"),
            (Decimal("1234567.5"), "USDT!", "1,234,567.50"),
            (None, "USDT", "—"),
        ],
    )
    def test_amounts_read_at_the_assets_precision_with_separators(self, value, unit, shown) -> None:
        assert render("{{ v|money:u }}", v=value, u=unit) == shown

    def test_a_gain_shows_its_sign_and_a_rounded_zero_has_none(self) -> None:
        assert render('{{ v|pnl:"USDT" }}', v=Decimal("12.5")) == "+12.50 USDT"
        assert render('{{ v|pnl:"USDT" }}', v=Decimal("-0.001")) == "-0.001 USDT"
        assert render('{{ v|pnl:"USDT" }}', v=Decimal("-0.000")) == "0.00 USDT"

    def test_times_are_shown_in_the_active_zone_and_labelled(self) -> None:
        moment = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
        with timezone.override("Europe/Berlin"):
            assert render("{{ t|when }}", t=moment) == "2026-07-01 14:00 CEST"
        with timezone.override("UTC"):
            assert render('{{ t|when:"date" }}', t=moment) == "2026-07-01 UTC"

    def test_no_page_template_prints_a_raw_decimal_or_floatformat(self) -> None:
        from pathlib import Path

        root = Path(__file__).resolve().parents[2] / "templates"
        offenders = [
            str(p.relative_to(root)) for p in root.rglob("*.html") if "floatformat" in p.read_text()
        ]
        assert offenders == []


def make_history(bot: Bot, count: int, *, start: datetime | None = None) -> list[Fill]:
    start = start or timezone.now() - timedelta(days=1)
    fills = []
    for i in range(count):
        order = OrderFactory(
            bot=bot, side="buy" if i % 2 == 0 else "sell", amount=Decimal("0.01") + i
        )
        fills.append(
            FillFactory(
                order=order, taken_at=start + timedelta(minutes=i), price=Decimal(60000 + i)
            )
        )
    return fills


class TestDashboard:
    def test_it_shows_totals_pnl_fees_positions_and_stopped_bots(
        self, verified_client: Client, user
    ) -> None:
        running = BotFactory(
            owner=user, name="Runner", equity=Decimal("1100"), cash=Decimal("400"),
            realised_pnl=Decimal("60"), unrealised_pnl=Decimal("40"), fees_paid=Decimal("2.5"),
            max_drawdown=Decimal("0.125"),
        )  # fmt: skip
        BotFactory(
            owner=user, name="Retired", status=Bot.Status.STOPPED, equity=Decimal("990"),
            cash=Decimal("990"), realised_pnl=Decimal("-10"),
        )  # fmt: skip
        running.positions.create(market="BTC/USDT", amount=Decimal("0.0116600"), avg_entry=60000)
        page = verified_client.get("/dashboard/").content.decode()
        assert "2,090.00 USDT" in page  # total equity
        assert "+90.00 USDT" in page and "4.50%" in page  # PnL of 2,000 allocated
        assert "2.50 USDT" in page and "12.5%" in page  # fees, max drawdown
        assert "Retired" in page and "-10.00 USDT" in page  # stopped bots keep their result
        assert "0.01166 BTC" in page

    def test_a_cached_bot_card_follows_every_change_of_what_it_shows(
        self, verified_client: Client, user
    ) -> None:
        bot = BotFactory(owner=user, name="Cached", equity=Decimal("1000"), cash=Decimal("1000"))
        assert "1,000.00 USDT" in verified_client.get("/dashboard/").content.decode()
        # Changed the way workers change it: an update() that leaves updated_at alone.
        Bot.objects.filter(pk=bot.pk).update(equity=Decimal("1234.5"))
        bot.positions.create(market="BTC/USDT", amount=Decimal("0.02"), avg_entry=60000)
        page = verified_client.get("/dashboard/").content.decode()
        assert "1,234.50 USDT" in page and "0.02 BTC" in page
        bot.credential.status = "disabled"
        bot.credential.save()
        assert (
            "Blocked — its exchange key is disabled"
            in verified_client.get("/dashboard/").content.decode()
        )

    def test_the_account_curve_ends_at_the_live_equity_while_the_slot_is_cached(
        self, verified_client: Client, user
    ) -> None:
        import json
        import re

        bot = BotFactory(owner=user, equity=Decimal("1000"), cash=Decimal("1000"))
        snapshots_take()
        verified_client.get("/dashboard/")
        Bot.objects.filter(pk=bot.pk).update(equity=Decimal("900"))
        page = verified_client.get("/dashboard/").content.decode()
        found = re.search(r'id="account-series" type="application/json">(.*?)</script>', page)
        assert found is not None
        series = json.loads(found.group(1))
        assert series["equity"][-1][1] == "900.00" and series["drawdown"][-1][1] == "-10.00"

    @pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner and statistics")
    def test_a_decisions_order_is_found_by_index_when_most_orders_have_no_decision(
        self, user
    ) -> None:
        # The feeds join each decision's order. Once ANALYZE has seen mostly orders
        # without one (stop-and-sell sells), the one-to-one's unique index looks like a
        # single NULL value for every row and SQLite scanned all orders per decision.
        from trading.selectors import decisions_of

        bot = BotFactory(owner=user)
        Order.objects.bulk_create(OrderFactory.build(bot=bot) for _ in range(300))
        Decision.objects.create(bot=bot, signal=SignalFactory(strategy=bot.strategy))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        plan = decisions_of(bot)[:25].explain()
        assert "trading_order USING INDEX" in plan and "SCAN trading_order" not in plan, plan

    def test_the_checklist_ticks_what_is_done(self, verified_client: Client, user) -> None:
        page = verified_client.get("/dashboard/").content.decode()
        assert "Get started" in page
        assert (
            'Turn on two-factor authentication</span> <span class="visually-hidden">(done)' in page
        )
        assert 'href="/keys/link/"' in page and 'href="/bots/new/"' in page

    def test_a_paper_only_user_finishes_the_checklist(self, verified_client: Client, user) -> None:
        """The IP whitelist step stayed open for a user with only a paper account, so the
        "Get started" card never went away (new-user walk)."""
        from allauth.account.models import EmailAddress

        EmailAddress.objects.update_or_create(
            user=user, email=user.email, defaults={"verified": True, "primary": True}
        )
        bot = BotFactory(owner=user)  # on a paper account
        page = verified_client.get("/dashboard/").content.decode()
        assert "Get started" not in page
        from vault.tests.factories import CredentialFactory

        CredentialFactory(owner=user, exchange_id="binance", ip_restricted=False)
        page = verified_client.get("/dashboard/").content.decode()
        assert "Get started" in page and "Whitelist our IP addresses" in page
        assert bot.credential.exchange_id == "paper"

    def test_it_lists_recent_fills_decisions_and_open_alerts(
        self, verified_client: Client, user
    ) -> None:
        bot = BotFactory(owner=user)
        make_history(bot, 3)
        Decision.objects.create(
            bot=bot, signal=SignalFactory(strategy=bot.strategy), outcome="ignored",
            reason="below_minimum", message="Below the market minimum of 5 USDT",
        )  # fmt: skip
        ActivityIncident.objects.create(
            credential=bot.credential, volume_24h=Decimal("50000"), position_size=Decimal("100")
        )
        page = verified_client.get("/dashboard/").content.decode()
        assert "Below the market minimum of 5 USDT" in page
        assert "Irregular activity" in page and "50,000.00 USDT" in page
        assert "60,002.00 USDT" in page  # the newest fill's price

    def test_it_shows_the_paper_accounts_balance(self, verified_client: Client, user) -> None:
        bot = BotFactory(owner=user)
        Balance.objects.create(
            credential=bot.credential, currency="USDT", free=Decimal("9000"),
            total=Decimal("10000"), synced_at=timezone.now(),
        )  # fmt: skip
        page = verified_client.get("/dashboard/").content.decode()
        assert "Paper account" in page and "10,000.00 USDT" in page

    def test_another_users_bots_never_show(self, verified_client: Client) -> None:
        BotFactory(name="Someone else's bot")
        assert "Someone else" not in verified_client.get("/dashboard/").content.decode()

    @pytest.mark.parametrize("bots", [1, 20])
    def test_it_renders_in_the_same_number_of_queries_for_1_or_20_bots(
        self, verified_client: Client, user, bots, django_assert_max_num_queries
    ) -> None:
        for _ in range(bots):
            bot = BotFactory(owner=user)
            make_history(bot, 2)
            bot.positions.create(market="BTC/USDT", amount=Decimal("0.1"), avg_entry=1)
            Decision.objects.create(bot=bot, signal=SignalFactory(strategy=bot.strategy))
        snapshots_take()
        verified_client.get("/dashboard/")
        # Session, user, the session's 2FA device; bots (with their strategy's next
        # run), positions, decisions; keys (with the email and alert flags), balances;
        # the checklist's 2FA check; recent orders, fills, decisions.
        with django_assert_max_num_queries(12):
            assert verified_client.get("/dashboard/").status_code == 200


class TestSnapshots:
    def test_a_snapshot_is_written_once_per_slot(self) -> None:
        # How positions are valued first: trading/tests/test_marks.py.
        bot = BotFactory(cash=Decimal("400"))
        bot.positions.create(market="BTC/USDT", amount=Decimal("0.01"), avg_entry=Decimal("60000"))
        now = timezone.now()
        assert snapshots_take(now=now) == 1
        snapshots_take(now=now + timedelta(seconds=1))  # same slot: nothing new
        snap = EquitySnapshot.objects.get(bot=bot)
        bot.refresh_from_db()
        assert snap.taken_at == slot_of(now)
        assert (snap.equity, snap.unrealised_pnl) == (bot.equity, bot.unrealised_pnl)
        assert snap.equity != Decimal("1000")  # valued at the market, not left at cost

    def test_stopped_bots_keep_their_snapshots_and_get_no_new_ones(self) -> None:
        bot = BotFactory()
        snapshots_take(now=timezone.now() - timedelta(hours=2))
        Bot.objects.filter(pk=bot.pk).update(status=Bot.Status.STOPPED)
        snapshots_take()
        assert EquitySnapshot.objects.filter(bot=bot).count() == 1

    def test_the_schedule_is_registered_idempotently(self) -> None:
        ensure_schedules()
        ensure_schedules()
        assert Schedule.objects.filter(name="trading: equity snapshots").count() == 1
        assert (
            Schedule.objects.get(name="trading: equity snapshots").func
            == "trading.tasks.take_equity_snapshots"
        )

    def test_the_bot_curve_is_cached_per_slot_yet_shows_this_slots_snapshot_and_live_equity(
        self, verified_client: Client, user
    ) -> None:
        import json
        import re

        bot = BotFactory(owner=user, equity=Decimal("1000"), cash=Decimal("1000"))
        snapshots_take(now=timezone.now() - timedelta(hours=2))
        verified_client.get(f"/bots/{bot.pk}/")  # the snapshots before this slot, cached
        Bot.objects.filter(pk=bot.pk).update(equity=Decimal("900"), cash=Decimal("900"))
        snapshots_take()  # this slot's, after the cache was filled
        Bot.objects.filter(pk=bot.pk).update(equity=Decimal("950"), marked_at=timezone.now())
        page = verified_client.get(f"/bots/{bot.pk}/").content.decode()
        found = re.search(r'id="bot-series" type="application/json">(.*?)</script>', page)
        assert found is not None
        series = json.loads(found.group(1))
        slot = int(slot_of(timezone.now()).timestamp())
        assert [v for _, v in series["equity"]] == ["1000.00", "900.00", "950.00"]
        assert series["equity"][1][0] == slot
        assert [v for _, v in series["drawdown"]] == ["0.00", "-10.00", "-5.00"]

    def test_the_bot_page_charts_its_snapshots_fills_and_candles(
        self, verified_client: Client, user
    ) -> None:
        bot = BotFactory(owner=user)
        make_history(bot, 2)
        snapshots_take(now=timezone.now() - timedelta(hours=3))
        page = verified_client.get(f"/bots/{bot.pk}/").content.decode()
        assert 'id="bot-series" type="application/json"' in page
        assert '"side": "buy"' in page and '"equity": [[' in page
        assert "lightweight-charts.standalone.production.js" in page
        assert "TradingView" in page  # the licence's attribution


def parse_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


class TestHistory:
    def test_it_pages_through_fills_newest_first(self, verified_client: Client, user) -> None:
        bot = BotFactory(owner=user)
        make_history(bot, 55)
        first = verified_client.get("/bots/history/").content.decode()
        assert first.count('data-label="Time"') == 50 and "Older" in first
        second = verified_client.get("/bots/history/?page=2").content.decode()
        assert second.count('data-label="Time"') == 5 and "Newer" in second
        assert "60,054.00 USDT" in first and "60,054.00 USDT" not in second

    def test_filters_narrow_by_bot_side_status_and_dates(
        self, verified_client: Client, user
    ) -> None:
        one, two = BotFactory(owner=user, name="One"), BotFactory(owner=user, name="Two")
        make_history(one, 4, start=datetime(2026, 1, 10, 12, tzinfo=UTC))
        make_history(two, 2, start=datetime(2026, 1, 20, 12, tzinfo=UTC))

        def rows(query: str) -> int:
            page = verified_client.get("/bots/history/?" + query).content.decode()
            return page.count('data-label="Time"')

        assert rows("") == 6
        assert rows(f"bot={two.pk}") == 2
        assert rows("side=sell") == 3
        assert rows("since=2026-01-15") == 2 and rows("until=2026-01-10") == 4
        assert rows("kind=orders&status=closed") == 6 and rows("kind=orders&status=open") == 0

    def test_an_empty_result_says_whether_filters_or_no_trades_are_why(
        self, verified_client: Client, user
    ) -> None:
        make_history(BotFactory(owner=user), 2)  # buys and sells
        blank = "kind=orders&bot=&market=&side=&status=&since=&until="  # the form sent empty
        none_yet = verified_client.get(f"/bots/history/?{blank}").content.decode()
        assert "Nothing matches these filters" not in none_yet  # it has rows
        filtered = verified_client.get(
            "/bots/history/?kind=fills&side=sell&since=2030-01-01"
        ).content.decode()
        # Before: "Nothing matches these filters. Fills appear here once a bot has
        # traded." to a user whose bot had traded, with no way back but the filters.
        assert "Fills appear here once a bot has traded" not in filtered
        assert (
            'Nothing matches these filters. <a href="/bots/history/?kind=fills">Show all fills</a>'
            in filtered
        )

    def test_a_user_without_trades_is_told_when_fills_and_orders_appear(
        self, verified_client: Client
    ) -> None:
        blank = "bot=&market=&side=&status=&since=&until="
        fills = verified_client.get(f"/bots/history/?kind=fills&{blank}").content.decode()
        orders = verified_client.get(f"/bots/history/?kind=orders&{blank}").content.decode()
        assert "No fills yet: they appear here once a bot has traded." in fills
        assert "No orders yet: they appear here once a bot has traded." in orders
        assert "these filters" not in fills + orders  # empty fields filter nothing

    def test_another_users_bot_in_the_filter_shows_nothing_of_theirs(
        self, verified_client: Client, user
    ) -> None:
        make_history(BotFactory(owner=user), 2)
        stranger = BotFactory(owner=UserFactory())
        make_history(stranger, 2)
        page = verified_client.get(f"/bots/history/?bot={stranger.pk}").content.decode()
        assert 'data-label="Time"' not in page and "Select a valid choice" in page
        export = verified_client.get(f"/bots/history/fills.csv?bot={stranger.pk}")
        assert export.status_code == 400 and "Select a valid choice" in export.content.decode()
        assert len(parse_csv(verified_client.get("/bots/history/fills.csv"))) == 3  # own only

    @pytest.mark.parametrize("zone", ["", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
    @pytest.mark.parametrize("query", ["until=9999-12-31", "since=0001-01-01", "since=9999-12-31"])
    def test_a_date_at_the_end_of_the_calendar_is_a_clear_error_on_the_page_and_export(
        self, verified_client: Client, user, zone: str, query: str
    ) -> None:
        # Failed before: a 500 (OverflowError) on both, in UTC for the calendar's last day.
        user.time_zone = zone
        user.save(update_fields=["time_zone"])
        make_history(BotFactory(owner=user), 2)
        page = verified_client.get("/bots/history/?" + query)
        assert page.status_code == 200
        body = page.content.decode()
        assert "Enter a date between 2000-01-01 and 2999-12-31." in body
        assert 'data-label="Time"' not in body
        export = verified_client.get("/bots/history/fills.csv?" + query)
        assert export.status_code == 400
        assert "Enter a date between 2000-01-01 and 2999-12-31." in export.content.decode()

    @pytest.mark.parametrize(
        ("query", "error"),
        [
            ("since=2024-02-30", "Enter a valid date."),
            (f"bot={'0' * 8}-0000-0000-0000-{'0' * 12}", "Select a valid choice."),
            ("side=sideways", "Select a valid choice."),
            ("status=lost", "Select a valid choice."),
        ],
    )
    def test_an_export_with_a_bad_filter_shows_the_form_error_not_an_empty_file(
        self, verified_client: Client, user, query: str, error: str
    ) -> None:
        # Failed before: a 200 "oneclick-fills-….csv" attachment with a header row only,
        # which read as "no fills" rather than "that filter is wrong".
        make_history(BotFactory(owner=user), 2)
        export = verified_client.get("/bots/history/fills.csv?kind=fills&" + query)
        assert export.status_code == 400
        assert "Content-Disposition" not in export
        assert export["Content-Type"].startswith("text/html")
        page = export.content.decode()
        assert error in page and 'role="alert"' in page
        # Its links and its form lead back to the page, not to another download.
        assert 'action="/bots/history/"' in page
        assert 'href="?' not in page and "fills.csv" not in page
        assert verified_client.get("/bots/history/?" + query).status_code == 200

    def test_the_csv_has_tax_columns_and_its_totals_match_the_page(
        self, verified_client: Client, user
    ) -> None:
        bot = BotFactory(owner=user, name="Tax bot")
        make_history(bot, 7)
        response = verified_client.get("/bots/history/fills.csv?side=buy")
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = parse_csv(response)
        assert rows[0] == COLUMNS
        body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
        assert len(body) == 4 and {r["Side"] for r in body} == {"buy"}
        first = body[-1]  # oldest
        assert first["Amount"] == "0.01" and first["Price"] == "60000" and first["Cost"] == "600"
        assert (
            first["Fee"] == "0.6" and first["Fee currency"] == "USDT" and first["Bot"] == "Tax bot"
        )
        assert first["Time (UTC)"].count(":") == 2 and first["Order ID"].startswith("ex-")
        cost = sum(Decimal(r["Cost"]) for r in body)
        fees = sum(Decimal(r["Fee"]) for r in body)
        page = verified_client.get("/bots/history/?side=buy&totals=1").content.decode()
        assert f"bought <strong>{cost:,.2f} USDT</strong>" in page
        assert f"<strong>{fees:,.2f} USDT</strong>" in page

    def test_the_export_streams_100000_rows_in_bounded_memory(self, client: Client, user) -> None:
        from trading.exports import fill_rows
        from trading.selectors import HistoryFilter, history_fills

        bot = BotFactory(owner=user)
        orders = Order.objects.bulk_create(
            OrderFactory.build(bot=bot, credential=bot.credential) for _ in range(100)
        )
        start = timezone.now() - timedelta(days=30)
        Fill.objects.bulk_create(
            (
                Fill(
                    order=orders[i % 100],
                    bot=bot,
                    credential=bot.credential,
                    trade_id=f"bulk-{i}",
                    amount=Decimal("0.001"),
                    price=Decimal("60000.12"),
                    fee=Decimal("0.06"),
                    fee_currency="USDT",
                    taken_at=start + timedelta(seconds=i),
                )
                for i in range(100_000)
            ),
            batch_size=5000,
        )
        lines = fill_rows(history_fills(user, HistoryFilter()))
        tracemalloc.start()
        count = 0
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            for _line in lines:
                count += 1
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert count == 100_001
        # Holding the rows would take tens of MB; streaming keeps the peak to a chunk or two.
        assert peak - baseline < 4 * 1024 * 1024

    def test_the_export_sends_its_rows_in_blocks(self, verified_client: Client, user) -> None:
        # One chunk per row cost the response's per-chunk work (charset lookup, encoding,
        # a socket write) 1,000 times per 1,000 rows.
        make_history(BotFactory(owner=user), 300)
        response: Any = verified_client.get("/bots/history/fills.csv")
        chunks = list(response.streaming_content)
        assert len(chunks) == 3  # the header at once, 250 rows, the other 50
        rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
        assert rows[0] == COLUMNS and len(rows) == 301

    def test_the_export_resumes_each_chunk_after_the_last_row_even_among_equal_times(
        self, user
    ) -> None:
        from trading.exports import fill_rows
        from trading.selectors import HistoryFilter, history_fills

        bot = BotFactory(owner=user)
        same = timezone.now() - timedelta(hours=1)
        # Seven fills share one time, across the 3-row chunk boundaries.
        fills = [FillFactory(order__bot=bot, taken_at=same) for _ in range(7)]
        fills += [FillFactory(order__bot=bot, taken_at=same - timedelta(minutes=m)) for m in (1, 2)]
        rows = list(csv.reader(fill_rows(history_fills(user, HistoryFilter()), chunk_size=3)))
        newest_first = sorted(fills, key=lambda f: (f.taken_at, f.pk), reverse=True)
        assert [r[11] for r in rows[1:]] == [f.trade_id for f in newest_first]

    def test_the_export_merges_several_accounts_newest_first(
        self, verified_client: Client, user
    ) -> None:
        from trading.exports import fill_rows
        from trading.selectors import HistoryFilter, accounts_of, history_fills

        first, second = BotFactory(owner=user), BotFactory(owner=user)
        assert first.credential_id != second.credential_id
        start = timezone.now() - timedelta(days=1)
        fills = [
            FillFactory(
                order__bot=(first, second)[i % 3 == 0], taken_at=start + timedelta(minutes=i)
            )
            for i in range(30)
        ]
        newest_first = [f.trade_id for f in sorted(fills, key=lambda f: f.taken_at, reverse=True)]
        rows = parse_csv(verified_client.get("/bots/history/fills.csv"))
        assert [r[11] for r in rows][1:] == newest_first
        lines = fill_rows(
            history_fills(user, HistoryFilter()), accounts=accounts_of(user), chunk_size=4
        )
        assert [r[11] for r in csv.reader(lines)][1:] == newest_first

    def test_a_fill_carries_its_orders_bot_and_one_bots_history_reads_it(
        self, verified_client: Client, user
    ) -> None:
        from trading.sync import store_fills

        bot, other = BotFactory(owner=user), BotFactory(owner=user)
        order = OrderFactory(bot=bot)
        stamp = int(timezone.now().timestamp() * 1000)
        (fill,) = store_fills(
            order, [{"id": "x-1", "amount": "0.01", "price": "60000", "timestamp": stamp}]
        )
        FillFactory(order__bot=other)
        assert Fill.objects.get(pk=fill.pk).bot_id == bot.pk
        page = verified_client.get(f"/bots/history/?bot={bot.pk}").content.decode()
        assert page.count("<tr") - 1 == 1  # the header, then the one fill of that bot

    @pytest.mark.parametrize("bots", [1, 20])
    def test_it_renders_in_the_same_number_of_queries_for_1_or_20_bots(
        self, verified_client: Client, user, bots, django_assert_max_num_queries
    ) -> None:
        for _ in range(bots):
            make_history(BotFactory(owner=user), 3)
        verified_client.get("/bots/history/")
        # Session, user, the session's 2FA device; the bots (the filter's choices,
        # whose keys are the accounts to read); one page of rows.
        with django_assert_max_num_queries(5):
            verified_client.get("/bots/history/")
        with django_assert_max_num_queries(5):
            verified_client.get("/bots/history/?kind=orders")

    @pytest.mark.parametrize("bots", [1, 20])
    def test_the_export_reads_the_same_number_of_queries_for_1_or_20_bots_of_a_key(
        self, verified_client: Client, user, bots, django_assert_max_num_queries
    ) -> None:
        credential = CredentialFactory(owner=user)
        for _ in range(bots):
            make_history(BotFactory(owner=user, credential=credential), 3)
        # Session, user, the session's 2FA device; the bots (the filter's choices, the
        # accounts and the bot column); the fills, one chunk (one per account).
        with django_assert_max_num_queries(5):
            rows = parse_csv(verified_client.get("/bots/history/fills.csv"))
        assert len(rows) == 1 + 3 * bots


class TestBotPage:
    def test_its_result_is_after_fees_as_on_the_dashboard(
        self, verified_client: Client, user
    ) -> None:
        # 93.52 realised + 10.78 unrealised - 1.25 of fees paid in USDT.
        bot = BotFactory(
            owner=user, realised_pnl=Decimal("93.52"), unrealised_pnl=Decimal("10.78"),
            fees_paid=Decimal("1.25"), equity=Decimal("1103.05"),
        )  # fmt: skip
        page = verified_client.get(f"/bots/{bot.pk}/").content.decode()
        assert "Result after fees" in page and "+103.05 USDT</p>" in page
        assert "realised <span" in page and "+93.52 USDT" in page and "+10.78 USDT" in page
        assert "fees 1.25 USDT" in page

    def test_a_bot_that_only_paid_fees_shows_the_loss_everywhere(
        self, verified_client: Client, user
    ) -> None:
        # Fails before results were taken after fees: "Result 0.00 USDT" while the
        # equity was 0.48 below the allocation (a round trip's fees, paid in USDT).
        BotFactory(owner=user, fees_paid=Decimal("0.48"), equity=Decimal("999.52"))
        dashboard = verified_client.get("/dashboard/").content.decode()
        bots = verified_client.get("/bots/").content.decode()
        assert "-0.48 USDT" in dashboard and "-0.48 USDT" in bots

    def test_stop_asks_for_confirmation_and_shows_progress(
        self, verified_client: Client, user
    ) -> None:
        bot = BotFactory(owner=user)
        page = verified_client.get(f"/bots/{bot.pk}/").content.decode()
        assert 'data-confirm="Stop ' in page and "data-confirm-when-checked=" in page
        assert 'data-busy="Stopping…"' in page

    def test_its_charts_say_which_time_zone_their_axis_is_in(
        self, verified_client: Client, user
    ) -> None:
        bot = BotFactory(owner=user)
        page = verified_client.get(f"/bots/{bot.pk}/").content.decode()
        # The dashboard's chart said it; the bot page's axis read "15:45" with no zone.
        assert "chart times in UTC." in page

    def test_a_stopped_bot_says_what_is_left_to_do_instead_of_an_empty_control_box(
        self, verified_client: Client, user
    ) -> None:
        bot = BotFactory(owner=user, status="stopped")
        page = verified_client.get(f"/bots/{bot.pk}/").content.decode()
        # Before: a "Control" heading over nothing once the bot was stopped.
        assert "<h2>Control</h2>" not in page
        assert "It places no more orders; its history and result stay here." in page
        assert 'href="/bots/new/">start a new bot</a>' in page

    def test_the_allocation_box_holds_a_plain_amount(self, verified_client: Client, user) -> None:
        bot = BotFactory(owner=user, allocation=Decimal("1000.000000000000"))
        page = verified_client.get(f"/bots/{bot.pk}/").content.decode()
        assert 'value="1000"' in page and "1000.000000000000" not in page

    @pytest.mark.parametrize("decisions", [1, 30])
    def test_its_query_count_does_not_grow_with_history(
        self, verified_client: Client, user, decisions, django_assert_max_num_queries
    ) -> None:
        bot = BotFactory(owner=user)
        make_history(bot, decisions)
        for _ in range(decisions):
            Decision.objects.create(bot=bot, signal=SignalFactory(strategy=bot.strategy))
        # A first view: 9, and the chart's snapshots before this slot (then cached).
        with django_assert_max_num_queries(10):
            verified_client.get(f"/bots/{bot.pk}/")


class TestFeel:
    def test_a_missing_page_is_app_styled(self, client: Client, settings) -> None:
        settings.DEBUG = False
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        page = response.content.decode()
        assert "This page does not exist" in page and "app.css" in page

    def test_the_500_page_needs_no_database(self, settings) -> None:
        from django.template.loader import render_to_string

        html = render_to_string("500.html")
        assert "Something went wrong on our side" in html

    def test_a_user_picks_a_time_zone_and_times_follow_it(
        self, verified_client: Client, user
    ) -> None:
        bot = BotFactory(owner=user)
        order = OrderFactory(bot=bot)
        Order.objects.filter(pk=order.pk).update(created_at=datetime(2026, 7, 1, 12, tzinfo=UTC))
        response = verified_client.post("/account/time-zone/", {"time_zone": "Asia/Tokyo"})
        assert response.status_code == 302
        page = verified_client.get(f"/bots/orders/{order.pk}/").content.decode()
        assert "2026-07-01 21:00:00 JST" in page

    def test_key_and_strategy_pages_show_times_in_the_users_zone_never_mislabelled_utc(
        self, verified_client: Client, user
    ) -> None:
        """The key pages printed local times with a literal "UTC" after them, and the
        strategy page's runs and signals had no zone at all (probe of times)."""
        from strategies.tests.factories import SignalFactory, StrategyRunFactory
        from vault.models import ExchangeCredential

        noon = datetime(2026, 7, 1, 12, tzinfo=UTC)
        bot = BotFactory(owner=user)
        ExchangeCredential.objects.filter(pk=bot.credential.pk).update(last_verified_at=noon)
        StrategyRunFactory(strategy=bot.strategy, started_at=noon)
        SignalFactory(strategy=bot.strategy, period=noon)
        assert (
            verified_client.post("/account/time-zone/", {"time_zone": "Asia/Tokyo"}).status_code
            == 302
        )
        for path in ("/keys/", f"/keys/{bot.credential.pk}/", f"/strategies/{bot.strategy.slug}/"):
            page = verified_client.get(path).content.decode()
            assert "2026-07-01 21:00 JST" in page, path
            assert "21:00 UTC" not in page and "12:00 UTC" not in page, path

    def test_without_a_setting_the_browsers_zone_is_used(
        self, verified_client: Client, user
    ) -> None:
        verified_client.cookies["tz"] = "America%2FNew_York"  # as app.js writes it
        page = verified_client.get("/dashboard/").content.decode()
        assert 'data-time-zone="America/New_York" data-time-zone-source="browser"' in page
        verified_client.cookies["tz"] = "../../etc/passwd"
        page = verified_client.get("/dashboard/").content.decode()
        assert 'data-time-zone="UTC" data-time-zone-source="default"' in page

    def test_an_unknown_zone_is_refused(self, verified_client: Client) -> None:
        response = verified_client.post("/account/time-zone/", {"time_zone": "Mars/Olympus"})
        assert response.status_code == 200 and "errorlist" in response.content.decode()


class TestBacktestCharts:
    def test_a_backtest_page_has_buy_and_hold_calmar_and_time_axis_data(
        self, verified_client: Client
    ) -> None:
        from strategies.models import Candle
        from strategies.tests.factories import BacktestFactory

        backtest = BacktestFactory(cagr=Decimal("0.6"), max_drawdown=Decimal("0.2"))
        start = backtest.start
        for day, close in enumerate([100, 120, 90, 150]):
            Candle.objects.create(
                exchange_id=backtest.strategy.exchange_id, market="BTC/USDT", timeframe="4h",
                open_time=start + timedelta(days=7 * day), open=close, high=close, low=close,
                close=close, volume=1,
            )  # fmt: skip
        page = verified_client.get(f"/strategies/backtests/{backtest.pk}/").content.decode()
        assert "Calmar ratio <strong>3.00</strong>" in page
        assert (
            'Buy and hold <strong class="loss">-10.0%</strong>' in page
        )  # 100 → 90 by the last point
        assert '"benchmark": [[1704067200, "10000.00"]' in page
        assert 'data-chart="candles"' in page and "lightweight-charts" in page


def test_a_stopped_bot_shows_its_sell_orders_in_progress(verified_client: Client, user) -> None:
    bot = BotFactory(owner=user, status=Bot.Status.STOPPED)
    OrderFactory(bot=bot, side="sell", status=Order.Status.UNKNOWN, amount=Decimal("0.5"))
    page = verified_client.get(f"/bots/{bot.pk}/").content.decode()
    assert "Selling the bot's positions" in page and "Sell 0.5 BTC</a>: sent" in page


def test_the_scheduled_refresh_stores_a_new_paper_accounts_balances(user) -> None:
    from trading.tasks import refresh_balances
    from vault.tests.factories import CredentialFactory

    credential = CredentialFactory(owner=user)
    assert refresh_balances() == 1
    balances = {b.currency: b.total for b in Balance.objects.filter(credential=credential)}
    assert balances and all(total >= 0 for total in balances.values())


def test_a_disabled_key_is_not_read(user) -> None:
    from trading.tasks import refresh_balances
    from vault.tests.factories import CredentialFactory

    credential = CredentialFactory(owner=user, status="disabled")
    assert refresh_balances() == 0
    assert not Balance.objects.filter(credential=credential).exists()


@pytest.mark.parametrize("bots", [1, 20])
def test_the_bot_list_renders_in_the_same_number_of_queries_for_1_or_20_bots(
    verified_client: Client, user, bots, django_assert_max_num_queries
) -> None:
    for _ in range(bots):
        make_history(BotFactory(owner=user), 1)
    verified_client.get("/bots/")
    with django_assert_max_num_queries(8):
        assert verified_client.get("/bots/").status_code == 200


def test_the_export_writes_names_and_exchange_text_as_text_not_spreadsheet_formulas(
    verified_client: Client, user
) -> None:
    # A bot's name is typed by its owner; fee currencies and ids come from the exchange.
    bot = BotFactory(owner=user, name='=HYPERLINK("http://evil.example","x")')
    FillFactory(order__bot=bot, fee_currency="@SUM(1+1)", trade_id="+1-2")
    [header, row] = parse_csv(verified_client.get("/bots/history/fills.csv"))
    cells = dict(zip(header, row, strict=True))
    assert cells["Bot"] == '\'=HYPERLINK("http://evil.example","x")'
    assert cells["Fee currency"] == "'@SUM(1+1)"
    assert cells["Trade ID"] == "'+1-2"
    assert cells["Market"] == "BTC/USDT" and not cells["Amount"].startswith("'")
