// Live thread: re-fetch the server-rendered messages every 3 s (no framework, no CDN).
(function () {
  var thread = document.getElementById("thread");
  if (!thread) return;
  var src = thread.getAttribute("data-src");
  setInterval(function () {
    fetch(src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) thread.innerHTML = html; })
      .catch(function () {});
  }, 3000);
})();
