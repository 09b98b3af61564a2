// The live inbox (no framework, no CDN). The server pushes which conversation changed
// (/inbox/events, Server-Sent Events); the page re-reads its server-rendered part: the
// list's rows and counts, or the open thread. New customer messages are announced to
// screen readers; a customer asking for a person plays a short sound if the user opted in.
(function () {
  var list = document.getElementById("inbox-live");
  var thread = document.getElementById("thread");
  var announcer = document.getElementById("announce");
  var sound = document.getElementById("sound-alerts");
  var part = thread || (list && !list.hasAttribute("data-static") ? list : null);
  var title = document.title;
  var audio = null;

  function say(text) {
    if (!announcer || !text) return;
    announcer.textContent = "";
    setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function atBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }

  // Scrolls the newest message into view just above the reply box, which sticks to the
  // bottom of the screen and would otherwise cover it.
  function toNewest() {
    var last = thread && thread.querySelector(".msg:last-child");
    if (!last) return;
    var reply = document.getElementById("reply");
    var covered = reply ? reply.getBoundingClientRect().height : 0;
    window.scrollBy(0, last.getBoundingClientRect().bottom - (window.innerHeight - covered) + 8);
  }

  function inbound() {
    return thread ? thread.querySelectorAll(".msg-in") : [];
  }

  function unread() {
    var nav = list && list.querySelector("[data-unread]");
    return nav ? parseInt(nav.getAttribute("data-unread"), 10) || 0 : 0;
  }

  function showUnread(n) {
    document.title = (n > 0 ? "(" + n + ") " : "") + title;
  }

  var pending = null;
  function refresh() {
    if (!part || pending) return;
    pending = setTimeout(function () {
      var before = thread ? inbound().length : unread();
      var follow = thread && atBottom();
      fetch(part.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          pending = null;
          if (html === null) return;
          part.innerHTML = html;
          if (thread) {
            var now = inbound();
            if (now.length > before) {
              var body = now[now.length - 1].querySelector("p");
              say(part.getAttribute("data-announce") + (body ? ": " + body.textContent : ""));
            }
            if (follow) toNewest();
          } else {
            var n = unread();
            showUnread(n);
            if (n > before) say(part.getAttribute("data-announce").replace("{n}", n));
          }
        })
        .catch(function () { pending = null; });
    }, 200);
  }

  function beep() {
    if (!sound || !sound.checked || !window.AudioContext) return;
    // Counted for the browser test: an alert the user opted into was played.
    window.mujibakAlerts = (window.mujibakAlerts || 0) + 1;
    try {
      audio = audio || new AudioContext();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.15;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio: the badge still shows */ }
  }

  if (sound) {
    sound.checked = localStorage.getItem("mujibak.sound") === "on";
    sound.addEventListener("change", function () {
      localStorage.setItem("mujibak.sound", sound.checked ? "on" : "off");
      if (sound.checked && window.AudioContext) audio = audio || new AudioContext();
    });
  }

  // Quick replies fill the reply box; the team reads and sends.
  document.addEventListener("click", function (e) {
    var q = e.target.closest && e.target.closest("[data-quick]");
    var box = document.getElementById("f-text");
    if (!q || !box) return;
    box.value = q.getAttribute("data-quick");
    box.focus();
  });

  if (thread) toNewest();
  if (list) showUnread(unread());
  if (!part) return;

  if (!window.EventSource) {
    setInterval(refresh, 5000);
    return;
  }
  var mine = thread ? thread.getAttribute("data-conversation") : null;
  var events = new EventSource("/inbox/events");
  events.addEventListener("ready", function () {
    // Whatever changed between the page's rendering (or the stream's last drop) and now
    // was announced to nobody: re-read once.
    refresh();
    document.documentElement.setAttribute("data-live", "on");
  });
  events.addEventListener("change", function (e) {
    if (!mine || e.data === mine) refresh();
  });
  events.addEventListener("handoff", function (e) {
    beep();
    if (!mine || e.data === mine) refresh();
  });
  events.addEventListener("resync", refresh);
})();
