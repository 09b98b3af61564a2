// The ops console's queues page: every 5 seconds, fetch the page's own data as JSON and
// redraw the counts, the workers and the throughput charts (inline SVG), without a reload.
// No dependencies, no inline script (the CSP allows only our own files).
(function () {
  "use strict";
  var root = document.getElementById("queues");
  if (!root) return;
  var SVG = "http://www.w3.org/2000/svg";

  var RIYADH = { timeZone: "Asia/Riyadh", hour12: false };
  function riyadh(iso, dateToo) {
    var d = new Date(iso);
    return dateToo ? d.toLocaleString("en-GB", RIYADH) : d.toLocaleTimeString("en-GB", RIYADH);
  }

  function text(el, value) { if (el && el.textContent !== String(value)) el.textContent = value; }

  function chart(figure, points) {
    var old = figure.querySelector("svg");
    if (old) old.remove();
    var w = 300, h = 60, max = Math.max.apply(null, points.concat([1]));
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    var bw = w / points.length;
    points.forEach(function (n, i) {
      var bh = Math.round((n / max) * (h - 2));
      var r = document.createElementNS(SVG, "rect");
      r.setAttribute("x", (i * bw).toFixed(2));
      r.setAttribute("y", h - bh);
      r.setAttribute("width", Math.max(bw - 1, 1).toFixed(2));
      r.setAttribute("height", bh);
      var t = document.createElementNS(SVG, "title");
      t.textContent = n;
      r.appendChild(t);
      svg.appendChild(r);
    });
    var total = points.reduce(function (a, b) { return a + b; }, 0);
    svg.setAttribute("aria-label", total + " done, peak " + max);
    figure.insertBefore(svg, figure.firstChild);
  }

  function render(data) {
    data.queues.forEach(function (q) {
      var card = root.querySelector('[data-queue="' + q.queue + '"]');
      if (!card) return;
      ["pending", "scheduled", "running", "retrying", "dead", "done_24h"].forEach(function (k) {
        text(card.querySelector('[data-k="' + k + '"]'), q[k]);
      });
      var dead = card.querySelector('[data-k="dead"]');
      if (dead) dead.classList.toggle("bad", q.dead > 0);
      text(card.querySelector('[data-k="oldest"]'), q.oldest_pending_secs == null ? "none" : Math.round(q.oldest_pending_secs) + " s");
      chart(card.querySelector('[data-chart="per_minute"]'), q.per_minute);
      chart(card.querySelector('[data-chart="per_hour"]'), q.per_hour);
    });
    var body = document.querySelector("#workers tbody");
    if (body) {
      body.textContent = "";
      data.workers.forEach(function (w) {
        var tr = document.createElement("tr");
        [w.worker, w.queue, w.running, riyadh(w.last_seen, true)].forEach(function (v) {
          var td = document.createElement("td");
          td.textContent = v;
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
    }
    var updated = document.getElementById("updated");
    if (updated) { updated.setAttribute("datetime", data.at); text(updated, riyadh(data.at, false)); }
    root.setAttribute("data-refreshed", data.at);
  }

  function refresh() {
    fetch(root.getAttribute("data-source"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(render)
      .catch(function () { /* keep the last figures; try again next tick */ })
      .then(function () { setTimeout(refresh, 5000); });
  }
  refresh();
})();

// The incident pages: each `data-deadline` (the regulator's 72-hour deadline) counts down
// every 30 seconds, as "41 h 12 min left" or "overdue by 3 h 5 min".
(function () {
  "use strict";
  var els = document.querySelectorAll("[data-deadline]");
  if (!els.length) return;
  function span(s) { return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min"; }
  function tick() {
    els.forEach(function (el) {
      var left = Math.floor((new Date(el.getAttribute("data-deadline")) - new Date()) / 1000);
      el.textContent = left >= 0 ? span(left) + " left" : "overdue by " + span(-left);
      el.classList.toggle("bad", left < 0);
    });
  }
  tick();
  setInterval(tick, 30000);
})();
