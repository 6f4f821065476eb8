// Live updates: on any event for this user, refresh the page's live regions in place.
//
// A live region is an element with an id and the data-live-refresh attribute;
// its content is replaced by the same element of a fresh copy of the page.
// The socket's state is kept on <html data-live="connecting|open|reconnecting|signed-out">.
// Close codes (trading/events.py): 4401 signed out (stop), anything else reconnects,
// and a page re-fetches its regions whenever its socket opens — the first time
// too, since whatever happened between the server rendering the page and the
// socket joining the user's group was never sent to it — so nothing missed stays
// missing.
(function () {
  "use strict";
  var regions = document.querySelectorAll("[data-live-refresh][id]");
  if (!regions.length || !("WebSocket" in window)) return;
  var root = document.documentElement;
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var SIGNED_OUT = 4401;
  var delay = 500;
  var inFlight = false;
  var again = false;

  function setState(state) {
    root.setAttribute("data-live", state);
    var badge = document.querySelector("[data-live-status]");
    if (badge) {
      badge.textContent = { open: "Live", signed_out: "Signed out — reload to sign in" }[state] ||
        "Reconnecting…";
    }
  }

  // At most one fetch at a time; events arriving meanwhile cause exactly one more.
  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (response) { return response.ok && !response.redirected ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        regions.forEach(function (region) {
          var next = fresh.getElementById(region.id);
          if (next) {
            region.innerHTML = next.innerHTML;
            // Charts redraw from the refreshed region's data (static/js/charts.js).
            document.dispatchEvent(new CustomEvent("live:refreshed", { detail: region }));
          }
        });
        root.setAttribute("data-live-refreshed", String(Date.now()));
      })
      .catch(function () {})
      .then(function () {
        inFlight = false;
        if (again) { again = false; refresh(); }
      });
  }

  function retry() {
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 30000);
  }

  function connect() {
    var socket = new WebSocket(scheme + window.location.host + "/ws/live/");
    socket.onopen = function () {
      delay = 500;
      setState("open");
      refresh();
    };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (data && data.event) refresh();
    };
    socket.onclose = function (event) {
      if (event.code === SIGNED_OUT) { setState("signed_out"); return; }
      setState("reconnecting");
      // A refused handshake reaches the browser only as 1006, so ask the page
      // itself: a redirect means the session is gone and reconnecting is pointless.
      fetch(window.location.href, { credentials: "same-origin", redirect: "manual" })
        .then(function (response) {
          if (response.type === "opaqueredirect") setState("signed_out");
          else retry();
        })
        .catch(retry);
    };
  }
  setState("connecting");
  connect();
})();
