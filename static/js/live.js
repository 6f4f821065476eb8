// Live updates: on any event for this user, refresh the page's live region in place.
(function () {
  "use strict";
  var region = document.getElementById("live-region");
  if (!region || !("WebSocket" in window)) return;
  var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  var delay = 1000;

  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Requested-With": "live" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live-region");
        if (fresh) {
          region.innerHTML = fresh.innerHTML;
          document.dispatchEvent(new CustomEvent("live:refreshed", { detail: region }));
        }
      })
      .catch(function () {});
  }

  function connect() {
    var socket = new WebSocket(scheme + window.location.host + "/ws/live/");
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (data && data.event) refresh();
    };
    socket.onclose = function (event) {
      if (event.code === 4401) return; // signed out: do not hammer the server
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  connect();
})();
