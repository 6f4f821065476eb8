from __future__ import annotations

from decimal import Decimal

from strategies.charts import HEIGHT, PAD, WIDTH, drawdown_chart, equity_chart, thin_curve

D = Decimal


def test_a_thinned_curve_keeps_the_start_then_each_buckets_last_equity_and_deepest_drawdown() -> (
    None
):
    times = list(range(11))
    equity = [D(v) for v in (100, 100, 90, 80, 95, 100, 110, 99, 120, 121, 122)]
    drawdown = [D(v) for v in ("0", "0", "0.1", "0.2", "0.05", "0", "0", "0.1", "0", "0", "0")]
    curve = thin_curve(times, equity, drawdown, max_points=3)
    assert curve == [
        [0, "100.00", "0.000000"],
        [5, "100.00", "0.200000"],
        [10, "122.00", "0.100000"],
    ]


def test_a_short_curve_is_kept_whole() -> None:
    curve = thin_curve([1, 2, 3], [D(1), D(2), D(3)], [D(0), D(0), D(0)])
    assert [p[0] for p in curve] == [1, 2, 3]
    assert thin_curve([1], [D(1)], [D(0)]) == [[1, "1.00", "0.000000"]]
    assert thin_curve([], [], []) == []


def test_the_equity_line_spans_the_chart_with_the_peak_at_the_top() -> None:
    chart = equity_chart([[0, "100.00", "0"], [1, "150.00", "0"], [2, "50.00", "0.6"]])
    assert chart is not None
    points = [tuple(map(float, p.split(","))) for p in chart.points.split()]
    assert points[0][0] == PAD and points[-1][0] == WIDTH - PAD
    assert points[1][1] == PAD and points[2][1] == HEIGHT - PAD
    assert (chart.top_label, chart.bottom_label) == ("150.00", "50.00")


def test_the_drawdown_chart_hangs_from_zero() -> None:
    chart = drawdown_chart([[0, "1", "0"], [1, "1", "0.25"]])
    assert chart is not None
    points = [tuple(map(float, p.split(","))) for p in chart.points.split()]
    assert points[0][1] == PAD and points[1][1] == HEIGHT - PAD
    assert chart.bottom_label == "-25.0%"


def test_no_curve_no_chart() -> None:
    assert equity_chart([]) is None and drawdown_chart([]) is None
