// Latchkey helpdesk: a countdown on the QR screen and, for enrollment
// links, a wait for Latchkey's confirmation. Everything works without it.
"use strict";
(function () {
  var cd = document.getElementById("countdown");
  if (cd) {
    var end = Date.now() + 1000 * Number(cd.dataset.remaining || 0);
    var what = cd.dataset.what || "enrollment";
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      cd.textContent = left > 0
        ? "This " + what + " expires in " + m + ":" + (s < 10 ? "0" : "") + s + "."
        : "This " + what + " has expired. Start a new one.";
      if (left > 0) { setTimeout(tick, 1000); }
    };
    tick();
  }
  var st = document.getElementById("link-status");
  if (st && window.fetch) {
    var url = "/helpdesk/status?user=" + encodeURIComponent(st.dataset.user) + "&id=" + encodeURIComponent(st.dataset.id);
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { error: true }; })
        .then(function (j) {
          if (j.verified) {
            st.textContent = "Latchkey confirmed the enrollment: the credential is verified.";
            st.className = "message ok";
            return;
          }
          if (j.expired) {
            st.textContent = "This enrollment has expired. Start a new one.";
            st.className = "message error";
            return;
          }
          setTimeout(poll, 2000);
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 2000);
  }
})();
