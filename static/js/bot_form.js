// New bot form: offer only the markets the chosen strategy trades in the chosen
// quote currency. The server checks the same rule; this only spares a refused form.
(function () {
  "use strict";
  var data = document.getElementById("strategy-markets");
  var strategy = document.getElementById("id_strategy");
  var quote = document.getElementById("id_quote_currency");
  var box = document.getElementById("id_markets");
  if (!data || !strategy || !quote || !box) return;
  var marketsOf = JSON.parse(data.textContent);
  var none = document.createElement("p");
  none.className = "no-choices";
  none.setAttribute("role", "status");
  box.parentNode.insertBefore(none, box.nextSibling);

  function update() {
    var offered = marketsOf[strategy.value] || [];
    var suffix = "/" + quote.value;
    var shown = 0;
    box.querySelectorAll("input[type=checkbox]").forEach(function (input) {
      var ok = offered.indexOf(input.value) !== -1 && input.value.slice(-suffix.length) === suffix;
      var row = input.closest("div") || input.parentNode;
      row.hidden = !ok;
      if (!ok) input.checked = false;
      if (ok) shown += 1;
    });
    none.textContent = shown ? "" :
      "This strategy trades no market quoted in " + quote.value + ": choose the other quote currency.";
    none.hidden = shown > 0;
  }
  strategy.addEventListener("change", update);
  quote.addEventListener("change", update);
  update();
})();
