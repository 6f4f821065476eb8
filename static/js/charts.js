// Charts drawn with TradingView's lightweight-charts (vendored in static/vendor/).
// Each chart is a <div data-chart="equity|drawdown|candles" data-source="ID">, where ID
// names a <script type="application/json"> block written by Django's json_script: the
// page's CSP allows no inline script, and data in a JSON block is not executed.
(function () {
  "use strict";
  if (!window.LightweightCharts) return;
  var LC = window.LightweightCharts;
  var zone = document.documentElement.dataset.timeZone || "UTC";
  // 24-hour clock like every time the server writes on the page ("12:11 CET", not "12:11 PM").
  var timeFormat = new Intl.DateTimeFormat(undefined, {
    timeZone: zone, year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23"
  });
  var dayFormat = new Intl.DateTimeFormat(undefined, { timeZone: zone, month: "short", day: "numeric" });
  var moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var hourFormat = new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  // A year's first tick says the year: a long backtest read "Jan 1, Jan 1, Jan 1".
  var yearFormat = new Intl.DateTimeFormat(undefined, { timeZone: zone, year: "numeric" });

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function base(el, height) {
    var chart = LC.createChart(el, {
      height: height || 260,
      autoSize: true,
      // The logo injects an inline <style> our CSP refuses; the footer carries the attribution
      // notice and the link the licence asks for (static/vendor/README.md).
      layout: { background: { color: "#ffffff" }, textColor: "#0b1f33", attributionLogo: false },
      grid: { vertLines: { color: "#eef1f5" }, horzLines: { color: "#eef1f5" } },
      // A label the pane's edge would cut in half is left out rather than half drawn.
      rightPriceScale: { borderColor: "#dde3ea", entireTextOnly: true },
      timeScale: {
        borderColor: "#dde3ea", timeVisible: true, secondsVisible: false,
        // fitContent stops at the default 0.5 px a bar: a phone showed only the last
        // year of a three-year backtest's 1,500 candles.
        minBarSpacing: 0.05,
        tickMarkFormatter: function (time, kind) {
          var d = new Date(time * 1000);
          if (kind === 0) return yearFormat.format(d);  // TickMarkType.Year
          return kind >= 3 ? hourFormat.format(d) : dayFormat.format(d);
        }
      },
      localization: {
        timeFormatter: function (time) { return timeFormat.format(new Date(time * 1000)) + " " + zone; },
        priceFormatter: function (price) { return moneyFormat.format(price); }
      },
      handleScroll: { mouseWheel: false, pressedMouseMove: true },
      handleScale: { mouseWheel: false }
    });
    return chart;
  }

  function points(rows) {
    // Lightweight-charts needs strictly increasing times: keep the last value per second.
    var out = [];
    rows.forEach(function (r) {
      var p = { time: r[0], value: parseFloat(r[1]) };
      if (out.length && out[out.length - 1].time >= p.time) out[out.length - 1] = p; else out.push(p);
    });
    return out;
  }

  function equity(el, src) {
    var chart = base(el);
    var line = chart.addSeries(LC.AreaSeries, {
      lineColor: "#1463ff", topColor: "rgba(20,99,255,.25)", bottomColor: "rgba(20,99,255,.02)", lineWidth: 2
    });
    line.setData(points(src.equity));
    if (src.benchmark && src.benchmark.length) {
      var bench = chart.addSeries(LC.LineSeries, { color: "#8a94a6", lineWidth: 1, lineStyle: 2, title: "Buy and hold" });
      bench.setData(points(src.benchmark));
    }
    chart.timeScale().fitContent();
  }

  function drawdown(el, src) {
    var chart = base(el, 180);
    chart.applyOptions({ localization: { priceFormatter: function (v) { return v.toFixed(1) + "%"; } } });
    var area = chart.addSeries(LC.AreaSeries, {
      lineColor: "#b3261e", topColor: "rgba(179,38,30,.02)", bottomColor: "rgba(179,38,30,.3)", lineWidth: 2,
      invertFilledArea: true,
      priceFormat: { type: "custom", formatter: function (v) { return v.toFixed(1) + "%"; } }
    });
    area.setData(points(src.drawdown));
    // Room under the deepest point for the lowest label (the default 10 % of a 180 px
    // chart cut it in half), and less above 0 %, which a drawdown never passes.
    chart.priceScale("right").applyOptions({ scaleMargins: { top: 0.08, bottom: 0.2 } });
    chart.timeScale().fitContent();
  }

  function candles(el, src) {
    var market = el.dataset.market;
    var rows = (src.candles || {})[market] || [];
    if (!rows.length) {
      // An empty chart frame read as broken: say why there is nothing to draw yet.
      var note = document.createElement("p");
      note.className = "muted chart-empty";
      note.textContent = "No " + market + " candles stored yet: they are read at the strategy's next run.";
      el.classList.add("empty");
      el.appendChild(note);
      return;
    }
    var chart = base(el, 320);
    var series = chart.addSeries(LC.CandlestickSeries, {
      upColor: "#137a3a", downColor: "#b3261e", borderVisible: false, wickUpColor: "#137a3a", wickDownColor: "#b3261e"
    });
    series.setData(rows.map(function (r) {
      return { time: r[0], open: +r[1], high: +r[2], low: +r[3], close: +r[4] };
    }));
    var first = rows.length ? rows[0][0] : 0;
    var markers = (src.markers || []).filter(function (m) { return m.market === market && m.time >= first; })
      .map(function (m) {
        // A marker sits on the candle the fill happened in.
        var t = m.time; for (var i = rows.length - 1; i >= 0; i--) { if (rows[i][0] <= m.time) { t = rows[i][0]; break; } }
        return m.side === "buy"
          ? { time: t, position: "belowBar", color: "#137a3a", shape: "arrowUp", text: "" }
          : { time: t, position: "aboveBar", color: "#b3261e", shape: "arrowDown", text: "" };
      });
    if (markers.length && LC.createSeriesMarkers) LC.createSeriesMarkers(series, markers);
    chart.timeScale().fitContent();
  }

  var kinds = { equity: equity, drawdown: drawdown, candles: candles };
  function draw(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      var src = data(el.dataset.source);
      var make = kinds[el.dataset.chart];
      if (!src || !make) return;
      el.textContent = "";
      make(el, src);
    });
  }
  window.oneclickCharts = { draw: draw };
  draw(document);
  // live.js replaces the live region in place: draw the charts it brought.
  document.addEventListener("live:refreshed", function (event) { draw(event.detail); });
})();
