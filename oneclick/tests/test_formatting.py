"""Times as every page shows them (oneclick/formatting.py)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from oneclick.formatting import when


def test_a_time_is_shown_in_the_viewers_zone_and_labelled() -> None:
    with timezone.override(zoneinfo.ZoneInfo("Europe/Amsterdam")):
        assert when(dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC)) == "2026-11-26 09:30 CET"


def test_the_calendars_last_minute_east_of_utc_is_shown_in_utc_not_a_crash() -> None:
    # Failed before with OverflowError (a 500 on the page): it is in the year 10000 there.
    last = dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC)
    with timezone.override(zoneinfo.ZoneInfo("Pacific/Kiritimati")):
        assert when(last) == "9999-12-31 23:59 UTC"
