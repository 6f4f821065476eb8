// Key form: show what the chosen exchange needs, link its guide, and show progress while
// the key is checked with the exchange (that request can take several seconds).
(function () {
  "use strict";
  var form = document.getElementById("key-form");
  var data = document.getElementById("exchange-hints");
  if (!form || !data) return;
  var hints = JSON.parse(data.textContent);
  var select = form.querySelector("select[name=exchange_id]");
  var button = form.querySelector("button[type=submit]");
  var status = document.getElementById("key-check-status");
  var guide = document.getElementById("exchange-guide-link");

  function fieldBox(name) {
    var input = form.querySelector("[name=" + name + "]");
    return input ? input.closest(".field") : null;
  }

  function update() {
    var hint = hints[select.value] || {};
    var secret = fieldBox("secret");
    var confirm = fieldBox("trade_only_confirmed");
    if (secret) {
      secret.hidden = hint.secret === false;
      // A hidden field must not send what was typed before the exchange changed.
      if (secret.hidden) secret.querySelector("input").value = "";
    }
    if (confirm) confirm.hidden = !hint.confirm;
    if (guide) {
      guide.hidden = !hint.guide;
      if (hint.guide) {
        guide.href = hint.guide;
        guide.textContent = "How to create a trade-only key on " + hint.name;
      }
    }
  }

  form.addEventListener("submit", function (event) {
    if (button.disabled) { event.preventDefault(); return; }  // no second check while one runs
    var hint = hints[select.value] || {};
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    status.hidden = false;
    status.textContent = "Checking your key with " + (hint.name || "the exchange") + "…";
  });
  // Back/forward cache: a page restored after submit must be usable again.
  window.addEventListener("pageshow", function () {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    status.hidden = true;
  });
  select.addEventListener("change", update);
  update();
})();
