"""The backtest's drawdown chart shows its price-axis labels whole."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import Page

from accounts.tests.test_browser_signup_flow import (  # noqa: F401 - the fixtures
    browser,
    page,
    page_problems,
)
from strategies.tests.factories import BacktestFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Rows of the price axis (its widest canvas on the right) holding text, top to bottom.
INKED_ROWS = """
(el) => {
  const canvases = [...el.querySelectorAll("canvas")];
  const box = el.getBoundingClientRect();
  const axis = canvases.filter((c) => {
    const r = c.getBoundingClientRect();
    return r.left > box.left + box.width / 2 && r.height > 60;
  })[0];
  const ctx = axis.getContext("2d");
  const { width, height } = axis;
  const data = ctx.getImageData(0, 0, width, height).data;
  const rows = [];
  for (let y = 0; y < height; y++) {
    let ink = false;
    for (let x = 0; x < width && !ink; x++) {
      const i = (y * width + x) * 4;
      // Label text is dark (#0b1f33); the last value's red badge is left out.
      ink = data[i + 3] > 200 && data[i] < 90 && data[i + 1] < 90 && data[i + 2] < 120;
    }
    rows.push(ink);
  }
  return { rows, height };
}
"""


@pytest.mark.parametrize("depth", [0.1, 0.35, 0.87])
@pytest.mark.parametrize("width", [360, 1000])
def test_the_drawdown_axis_labels_are_whole_at_its_edges(
    page: Page, live_server, verified_client: Client, depth: float, width: int
) -> None:
    # Failed before at depths 0.35 and 0.87: "-40.0%" cut by the bottom edge (and
    # "10.0%" / "25.0%" by the top), with the default 10 % margin of a 180 px chart.
    curve = [
        [1704067200000 + i * 14_400_000, "10000", f"{depth * (i % 40) / 39:.6f}"]
        for i in range(180)
    ]
    backtest = BacktestFactory(curve=curve, max_drawdown=f"{depth:.4f}")
    session = verified_client.cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/strategies/backtests/{backtest.pk}/")
    chart = page.locator('[data-chart="drawdown"]').first
    chart.locator("canvas").first.wait_for()
    page.wait_for_timeout(300)  # the axis is painted on the next animation frame
    axis = chart.evaluate(INKED_ROWS)
    rows, height = axis["rows"], axis["height"]
    assert not any(rows[:2]) and not any(rows[-2:]), (width, depth)
    assert any(rows[height * 3 // 4 :])  # a label under the deepest point is drawn
