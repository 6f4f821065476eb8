// Small behaviours every page shares (no inline script: the CSP forbids it).
(function () {
  "use strict";
  // The browser's time zone, for the server to show times in until the user picks one.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
      // First visit: this page was drawn in UTC. Draw it again in the browser's zone, once.
      var html = document.documentElement;
      if (html.dataset.timeZoneSource === "default" && html.dataset.method === "GET" &&
          zone !== html.dataset.timeZone &&
          !window.sessionStorage.getItem("tz-reloaded")) {
        window.sessionStorage.setItem("tz-reloaded", "1");
        window.location.reload();
      }
    }
  } catch (e) { /* old browser: times stay in UTC, labelled so */ }

  // <form data-confirm="Question?">: ask before a step that cannot be undone.
  // <form data-busy="Working…">: show progress on the submit button while the server works.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    var extra = form.querySelector("[data-confirm-when-checked]:checked");
    if (extra) question = extra.getAttribute("data-confirm-when-checked");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    var busy = form.getAttribute("data-busy");
    var button = form.querySelector("button[type=submit]");
    if (busy && button) {
      button.disabled = true;
      button.classList.add("busy");
      button.setAttribute("aria-busy", "true");
      button.textContent = busy;
    }
  });
})();
