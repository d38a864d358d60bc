/* Live duty console (issue 6 §3).
 *
 * - One EventSource per page (/console/<id>/stream). Messages are hints: on `alarm` the queue is
 *   re-read (and the open alarm panel, unless the operator is typing in it), on `events` the event
 *   list. After every reconnect, and whenever the server says it could not resume, everything is
 *   re-read, so alarms raised while the connection was down appear.
 * - The connection state is always visible; after a few seconds without a connection a red banner
 *   says so. A watchdog reconnects when the server has been silent for too long.
 * - Sound (WebAudio, no file): a beep every few seconds while any live alarm is unacknowledged,
 *   louder and faster once one has escalated. Browsers only allow sound after a click, so the
 *   button says plainly when sound is off.
 * Also loaded by the standalone alarm page, where only the htmx settings below apply.
 */
(function () {
  "use strict";

  // Refused steps come back as 400/403/409 with the panel saying why: show them, don't drop them.
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "40[039]", swap: true, error: false },
      { code: "...", swap: false, error: true },
    ];
    htmx.config.historyEnabled = false;
    // Signed out meanwhile: show the login page, not a login form inside the panel.
    document.addEventListener("htmx:beforeSwap", function (e) {
      var url = e.detail.xhr && e.detail.xhr.responseURL;
      if (url && /\/accounts\/login\//.test(url)) {
        e.detail.shouldSwap = false;
        window.location.reload();
      }
    });
  }

  var root = document.querySelector("[data-console]");
  if (!root) return;

  var T = JSON.parse(document.getElementById("console-texts").textContent);
  window.anfangConsole = { beeps: 0 }; // what the page did last, for the browser tests
  var KEEPALIVE_MS = 15000;
  var SILENCE_MS = 2 * KEEPALIVE_MS + 5000; // no ping for this long: the connection is dead
  var BANNER_AFTER_MS = 2500; // a brief reconnect (the server recycles streams) shows no banner
  var MUTE_MS = 60000;
  var STUCK_MS = 8000; // reconnecting this long without success: open a new EventSource

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, key) {
      return values[key];
    });
  }
  function $(id) {
    return document.getElementById(id);
  }

  var queueBox = $("queue");
  var detailBox = $("detail");
  var eventsBox = $("events");
  var devicesBox = $("devices");

  // --- fragments ----------------------------------------------------------------------------

  /* Re-reads one fragment: at most one request in flight, at most one per `gap` ms, and a
   * request asked for while one is running is made once it ends (nothing is missed). */
  function Refresher(box, url, gap, after) {
    var busy = false;
    var again = false;
    var last = 0;
    var timer = null;
    function run() {
      timer = null;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      last = Date.now();
      var target = typeof url === "function" ? url() : url;
      fetch(target, { headers: { "HX-Request": "true" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (r.redirected && /\/accounts\/login\//.test(r.url)) {
            window.location.reload(); // signed out: the login page takes over
            throw new Error("signed out");
          }
          if (!r.ok) throw new Error(String(r.status));
          return r.text();
        })
        .then(function (html) {
          box.innerHTML = html;
          if (window.htmx) htmx.process(box);
          if (after) after();
        })
        .catch(function () {})
        .then(function () {
          busy = false;
          if (again) {
            again = false;
            schedule();
          }
        });
    }
    function schedule() {
      if (timer) return;
      timer = setTimeout(run, Math.max(0, gap - (Date.now() - last)));
    }
    return { schedule: schedule };
  }

  var queue = Refresher(queueBox, root.dataset.queueUrl, 200, afterQueue);
  var events = Refresher(eventsBox, root.dataset.eventsUrl, 1000);
  var devices = Refresher(devicesBox, root.dataset.devicesUrl, 10000);
  var idle = Refresher(detailBox, root.dataset.idleUrl, 1500);
  var panel = Refresher(detailBox, function () {
    return alarmUrl(currentAlarm());
  }, 150, markSelected);

  function alarmUrl(id) {
    return root.dataset.alarmUrl.replace(/\/0\/$/, "/" + id + "/");
  }
  function currentPanel() {
    return detailBox.querySelector(".alarm-panel");
  }
  function currentAlarm() {
    var p = currentPanel();
    return p ? p.dataset.alarmId : null;
  }

  function resync() {
    queue.schedule();
    events.schedule();
    devices.schedule();
    if (currentAlarm()) refreshPanel(null);
    else if (detailBox.querySelector("[data-idle]")) idle.schedule();
  }

  // --- queue: counts, title, selection, ages --------------------------------------------------

  var counts = { open: 0, waiting: 0, escalated: 0, top: 0 };
  function afterQueue() {
    window.anfangConsole.queueShownAt = Date.now();
    var q = queueBox.querySelector(".queue");
    if (q) {
      counts = {
        open: +q.dataset.open,
        waiting: +q.dataset.waiting,
        escalated: +q.dataset.escalated,
        top: +q.dataset.top,
      };
    }
    $("count-waiting").textContent = counts.waiting;
    $("count-open").textContent = counts.open;
    $("count-esc").textContent = counts.escalated;
    var waiting = $("tally-waiting");
    waiting.className = "tally tally-waiting" + (counts.waiting ? " is-alert p" + counts.top : "");
    var esc = $("tally-esc");
    esc.hidden = !counts.escalated;
    esc.classList.toggle("is-alert", counts.escalated > 0);
    markSelected();
    updateAges();
    updateTitle();
    updateSound();
  }

  function markSelected() {
    var id = currentAlarm();
    queueBox.querySelectorAll(".q-row").forEach(function (row) {
      row.classList.toggle("selected", row.dataset.alarm === id);
    });
  }

  function age(seconds) {
    if (seconds < 10) return T.just_now;
    if (seconds < 60) return fmt(T.age_s, { n: Math.max(0, Math.floor(seconds)) });
    if (seconds < 3600) return fmt(T.age_m, { n: Math.floor(seconds / 60) });
    return fmt(T.age_h, { n: Math.floor(seconds / 3600) });
  }
  function updateAges() {
    var now = Date.now();
    queueBox.querySelectorAll(".q-row").forEach(function (row) {
      var t = row.querySelector("time");
      var out = row.querySelector(".q-age");
      if (t && out) out.textContent = age((now - Date.parse(t.getAttribute("datetime"))) / 1000);
    });
  }

  var blinkOn = false;
  function updateTitle() {
    var base = T.title + " · " + root.dataset.compoundName;
    var title = (counts.waiting ? "(" + counts.waiting + ") " : "") + base;
    if (counts.waiting && document.hidden) {
      blinkOn = !blinkOn;
      if (blinkOn) title = "【" + T.new_alarm + " " + counts.waiting + "】" + base;
    }
    document.title = title;
  }

  // --- sound ----------------------------------------------------------------------------------

  var audio = null;
  var wanted = localStorage.getItem("anfang.console.sound") === "on";
  var mutedUntil = 0;
  var lastBeep = 0;
  var soundBtn = $("sound-btn");
  var muteBtn = $("mute-btn");

  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }
  function tone(ctx, freq, at, length, volume) {
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(volume, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    osc.connect(gain);
    gain.connect(ctx.destination);
    osc.start(at);
    osc.stop(at + length + 0.05);
  }
  function beep(loud) {
    var ctx = audio;
    if (!ctx || ctx.state !== "running") return;
    var t = ctx.currentTime + 0.01;
    if (loud) {
      [0, 0.2, 0.4].forEach(function (d, i) {
        tone(ctx, i % 2 ? 988 : 1319, t + d, 0.17, 0.7);
      });
    } else {
      tone(ctx, 880, t, 0.16, 0.2);
      tone(ctx, 660, t + 0.22, 0.2, 0.2);
    }
    window.anfangConsole.beeps += 1;
  }
  function soundState() {
    if (!wanted || !audio || audio.state !== "running") return "off";
    return Date.now() < mutedUntil ? "muted" : "on";
  }
  function updateSound() {
    var sounding = counts.waiting > 0;
    root.dataset.sounding = sounding ? "1" : "0";
    root.dataset.soundLevel = counts.escalated ? "escalated" : sounding ? "normal" : "quiet";
    var state = soundState();
    soundBtn.dataset.state = state;
    var text = soundBtn.querySelector(".sound-text");
    if (state === "off") text.textContent = T.sound_off;
    else if (state === "muted") text.textContent = fmt(T.muted, { s: Math.ceil((mutedUntil - Date.now()) / 1000) });
    else text.textContent = T.sound_on;
    muteBtn.hidden = state !== "on" || !sounding;
  }
  function enableSound() {
    wanted = true;
    localStorage.setItem("anfang.console.sound", "on");
    var ctx = context();
    if (ctx && ctx.state !== "running") ctx.resume().then(updateSound);
    mutedUntil = 0;
    updateSound();
  }
  soundBtn.addEventListener("click", function () {
    if (soundState() === "on") {
      wanted = false; // switching off is remembered; the button turns warning-coloured
      localStorage.setItem("anfang.console.sound", "off");
      updateSound();
    } else {
      enableSound();
    }
  });
  muteBtn.addEventListener("click", function () {
    mutedUntil = Date.now() + MUTE_MS;
    updateSound();
  });
  // Browsers start audio only after a gesture: the operator's first click anywhere restores it.
  function firstGesture() {
    if (wanted) enableSound();
    document.removeEventListener("pointerdown", firstGesture, true);
    document.removeEventListener("keydown", firstGesture, true);
  }
  document.addEventListener("pointerdown", firstGesture, true);
  document.addEventListener("keydown", firstGesture, true);
  if (wanted) context();

  setInterval(function () {
    updateSound();
    if (root.dataset.sounding !== "1" || soundState() !== "on") return;
    var every = counts.escalated ? 1500 : 3000;
    if (Date.now() - lastBeep >= every) {
      lastBeep = Date.now();
      beep(counts.escalated > 0);
    }
  }, 250);

  // --- alarm panel ----------------------------------------------------------------------------

  function dirty(p) {
    var active = document.activeElement;
    if (active && p.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) return true;
    var fields = p.querySelectorAll("textarea, input, select");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden") continue;
      if (f.tagName === "SELECT") {
        var opt = f.options[f.selectedIndex];
        if (opt && !opt.defaultSelected && f.selectedIndex !== 0) return true;
      } else if (f.type === "radio" || f.type === "checkbox") {
        if (f.checked !== f.defaultChecked) return true;
      } else if (f.value !== f.defaultValue) {
        return true;
      }
    }
    return false;
  }

  var panelBusy = false; // a step posted from the panel: its answer shows the new state
  document.body.addEventListener("htmx:beforeRequest", function (e) {
    if (detailBox.contains(e.detail.elt) && e.detail.requestConfig.verb === "post") panelBusy = true;
  });
  document.body.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.requestConfig && e.detail.requestConfig.verb === "post") panelBusy = false;
  });

  function refreshPanel(message) {
    var p = currentPanel();
    if (!p || panelBusy) return;
    if (message && message.status === p.dataset.status && String(message.count) === p.dataset.count) {
      return; // the panel already shows this (often the echo of a step taken in it); the queue shows escalation
    }
    if (dirty(p)) {
      var note = p.querySelector("[data-updated]");
      if (note) {
        note.innerHTML = "";
        var text = document.createElement("span");
        text.textContent = fmt(T.updated, { status: (message && T.statuses[message.status]) || "" });
        var btn = document.createElement("button");
        btn.type = "button";
        btn.className = "btn btn-sm";
        btn.textContent = T.reload;
        btn.addEventListener("click", function () {
          panel.schedule();
        });
        note.appendChild(text);
        note.appendChild(btn);
        note.hidden = false;
      }
      return;
    }
    panel.schedule();
  }

  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target === detailBox || detailBox.contains(e.detail.target)) {
      markSelected();
      var id = currentAlarm();
      var url = new URL(window.location.href);
      if (id) url.searchParams.set("alarm", id);
      else url.searchParams.delete("alarm");
      history.replaceState(null, "", url);
    }
  });
  // A step done here: the queue shows it at once (the stream says so too, a moment later).
  document.body.addEventListener("alarm-changed", function () {
    queue.schedule();
  });
  detailBox.addEventListener("click", function (e) {
    var x = e.target.closest("[data-close-panel]");
    if (!x) return;
    e.preventDefault();
    detailBox.innerHTML = "";
    idle.schedule();
    markSelected();
    var url = new URL(window.location.href);
    url.searchParams.delete("alarm");
    history.replaceState(null, "", url);
  });

  // --- the stream -----------------------------------------------------------------------------

  var source = null;
  var position = root.dataset.position;
  var everOpened = false;
  var lastHeard = Date.now();
  var lostSince = null;
  var lastAttempt = 0;
  var banner = $("conn-banner");
  var connText = document.querySelector("#conn .conn-text");

  function setConn(state) {
    root.dataset.conn = state;
    connText.textContent =
      state === "connected" ? T.connected : state === "connecting" ? T.connecting : T.reconnecting;
    if (state === "connected") {
      lostSince = null;
      banner.hidden = true;
    } else if (state !== "connecting" && lostSince === null) {
      lostSince = Date.now();
    }
  }

  function toast(text) {
    var el = document.createElement("div");
    el.className = "conn-toast";
    el.setAttribute("role", "status");
    el.textContent = text;
    document.body.appendChild(el);
    setTimeout(function () {
      el.remove();
    }, 3500);
  }

  function heard(e) {
    lastHeard = Date.now();
    if (e && e.lastEventId) position = e.lastEventId;
  }

  function connect() {
    lastAttempt = Date.now();
    if (source) source.close();
    source = new EventSource(root.dataset.stream + "?after=" + encodeURIComponent(position));
    source.addEventListener("open", function () {
      heard();
      var wasLost = lostSince !== null;
      setConn("connected");
      if (everOpened) {
        resync();
        if (wasLost) toast(T.resynced);
      }
      everOpened = true;
    });
    source.addEventListener("error", function () {
      setConn("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. the server answered with an error): try again ourselves.
        var failed = source;
        setTimeout(function () {
          if (source === failed) connect();
        }, 3000);
      }
    });
    source.addEventListener("hello", function (e) {
      heard(e);
      var data = JSON.parse(e.data);
      if (!data.resumed && everOpened) resync();
    });
    source.addEventListener("alarm", function (e) {
      heard(e);
      window.anfangConsole.alarmHeardAt = Date.now();
      var data = JSON.parse(e.data);
      queue.schedule();
      if (String(data.id) === currentAlarm()) refreshPanel(data);
      else if (detailBox.querySelector("[data-idle]")) idle.schedule();
    });
    source.addEventListener("events", function (e) {
      heard(e);
      events.schedule();
      devices.schedule();
    });
    source.addEventListener("resync", function (e) {
      heard(e);
      resync();
    });
    source.addEventListener("ping", heard);
  }

  setInterval(function () {
    if (root.dataset.conn === "connected" && Date.now() - lastHeard > SILENCE_MS) {
      setConn("reconnecting"); // silent too long: a dead connection the browser has not noticed
      connect();
    } else if (root.dataset.conn !== "connected" && Date.now() - lastAttempt > STUCK_MS) {
      connect(); // the browser stopped retrying (or retries too slowly): start afresh
    }
    if (lostSince !== null && Date.now() - lostSince >= BANNER_AFTER_MS) {
      banner.hidden = false;
      $("conn-lost-for").textContent = fmt(T.lost_for, { s: Math.round((Date.now() - lostSince) / 1000) });
    }
  }, 1000);
  window.addEventListener("offline", function () {
    setConn("reconnecting");
  });
  window.addEventListener("online", function () {
    if (root.dataset.conn !== "connected") connect();
  });

  // --- clock and housekeeping -----------------------------------------------------------------

  var clockFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
  setInterval(function () {
    $("clock").textContent = clockFormat.format(new Date());
    updateTitle();
  }, 1000);
  setInterval(updateAges, 5000);
  setInterval(function () {
    devices.schedule(); // a device goes offline by saying nothing: re-read the board now and then
    queue.schedule();
  }, 60000);

  afterQueue();
  setConn("connecting");
  connect();
})();
