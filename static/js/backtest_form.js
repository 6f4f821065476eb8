// Backtest form: a backtest on the shipped real history always covers all of it,
// so the period only applies to the exchange's candles; hide it otherwise. The
// server ignores the period for real history whatever the page sends.
(function () {
  "use strict";
  var source = document.getElementById("id_data");
  var period = document.getElementById("id_days");
  if (!source || !period) return;
  var row = period.closest(".field");
  function update() { row.hidden = source.value === "real"; }
  source.addEventListener("change", update);
  update();
})();
