// The guard's phone page (Art 10): scan or type a checkpoint code, add a photo and a note, report an
// exception. A phone on patrol is often out of signal, so nothing is sent directly: every check-in
// goes into an outbox in IndexedDB first, stamped with the phone's time and a client UUID, and is
// sent from there when the network allows (retry with backoff). The server de-duplicates by the
// UUID, so a send whose answer was lost and is repeated counts once. Reloading the page, closing
// the browser or a dead battery between "queued" and "sent" loses nothing.
(function () {
  "use strict";

  var root = document.getElementById("patrol-mobile");
  if (!root) return;

  var RUN = Number(root.dataset.run);
  var COMPOUND = Number(root.dataset.compound);
  var URLS = { checkin: root.dataset.checkinUrl, exception: root.dataset.exceptionUrl, progress: root.dataset.progressUrl };
  var MAX_BACKOFF_MS = 60000;
  var PHOTO_MAX_PX = 1600;
  var T = JSON.parse(document.getElementById("patrol-texts").textContent);

  // ---- outbox (IndexedDB, with localStorage for browsers that refuse IndexedDB) ---------------

  var DB_NAME = "anfang-patrol";
  var STORE = "outbox";
  var dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve) {
      if (!window.indexedDB) return resolve(null);
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        req.result.createObjectStore(STORE, { keyPath: "uuid" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { resolve(null); }; // private mode on some browsers
    });
    return dbPromise;
  }

  var LS_KEY = "anfang-patrol-outbox";
  function lsAll() {
    try { return JSON.parse(localStorage.getItem(LS_KEY) || "[]"); } catch (e) { return []; }
  }
  function lsSave(items) { localStorage.setItem(LS_KEY, JSON.stringify(items)); }

  function tx(mode, fn) {
    return openDb().then(function (db) {
      if (!db) {
        var direct = fn(null);
        return direct && direct.result !== undefined ? direct.result : direct;
      }
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var out = fn(t.objectStore(STORE));
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }

  var outbox = {
    put: function (item) {
      return tx("readwrite", function (store) {
        if (store) return store.put(item);
        var items = lsAll().filter(function (i) { return i.uuid !== item.uuid; });
        items.push(Object.assign({}, item, { photo: null })); // localStorage keeps no pictures
        lsSave(items);
      });
    },
    remove: function (uuid) {
      return tx("readwrite", function (store) {
        if (store) return store.delete(uuid);
        lsSave(lsAll().filter(function (i) { return i.uuid !== uuid; }));
      });
    },
    all: function () {
      return tx("readonly", function (store) {
        return store ? store.getAll() : { result: lsAll() };
      }).then(function (items) {
        return (items || []).sort(function (a, b) { return a.at < b.at ? -1 : a.at > b.at ? 1 : 0; });
      });
    },
  };

  // ---- helpers -------------------------------------------------------------------------------

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : root.dataset.csrf;
  }

  function hhmm(iso) {
    var d = new Date(iso);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2) + ":" + ("0" + d.getSeconds()).slice(-2);
  }

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, k) { return values[k]; });
  }

  // Phone cameras take 12-megapixel pictures; a poor connection needs a tenth of that.
  function shrink(file) {
    if (!file) return Promise.resolve(null);
    if (!window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file).then(function (bmp) {
      var scale = Math.min(1, PHOTO_MAX_PX / Math.max(bmp.width, bmp.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bmp.width * scale);
      canvas.height = Math.round(bmp.height * scale);
      canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", 0.8);
      });
    }).catch(function () { return file; });
  }

  // ---- the page ------------------------------------------------------------------------------

  var el = {
    queued: document.getElementById("pm-queued"),
    net: document.getElementById("pm-net"),
    done: document.getElementById("pm-done"),
    total: document.getElementById("pm-total"),
    bar: document.getElementById("pm-bar"),
    log: document.getElementById("pm-log"),
    flash: document.getElementById("pm-flash"),
    form: document.getElementById("pm-checkin"),
    code: document.getElementById("pm-code"),
    note: document.getElementById("pm-note"),
    photo: document.getElementById("pm-photo"),
    exForm: document.getElementById("pm-exception"),
    scan: document.getElementById("pm-scan"),
    scanFile: document.getElementById("pm-scan-file"),
    video: document.getElementById("pm-video"),
  };

  function flash(text, css) {
    el.flash.textContent = text;
    el.flash.className = "pm-flash pm-flash-" + (css || "info");
    el.flash.hidden = false;
  }

  // The run's progress as the server counts it (only what arrived counts; the outbox is shown apart).
  function applyProgress(p) {
    document.querySelectorAll("[data-checkpoint]").forEach(function (li) {
      var at = p.read[li.dataset.checkpoint];
      li.classList.toggle("pm-read", !!at);
      li.querySelector(".pm-when").textContent = at || "";
    });
    el.done.textContent = p.done;
    el.total.textContent = p.total;
    el.bar.style.width = (p.total ? Math.round((100 * p.done) / p.total) : 0) + "%";
    root.dataset.done = String(p.done);
  }

  function loadProgress() {
    return fetch(URLS.progress, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (p) { if (p) applyProgress(p); })
      .catch(function () { /* offline: the last known progress stays on the page */ });
  }

  function render(items) {
    var pending = items.filter(function (i) { return i.run === RUN || !i.run; });
    el.queued.textContent = pending.length ? fmt(T.queued, { n: pending.length }) : T.allSent;
    el.queued.className = "pm-pill " + (pending.length ? "pm-pill-warn" : "pm-pill-ok");
    root.dataset.queued = String(pending.length);
    el.log.innerHTML = "";
    if (!pending.length) {
      var none = document.createElement("li");
      none.className = "pm-none";
      none.textContent = T.nothingQueued;
      el.log.appendChild(none);
    }
    pending.forEach(function (item) {
      var li = document.createElement("li");
      li.className = "pm-item" + (item.error ? " pm-item-rejected" : "");
      li.dataset.uuid = item.uuid;
      var what = item.kind === "exception" ? T.exception : item.code;
      var state = item.error ? item.error : item.tries ? fmt(T.retrying, { n: item.tries }) : T.waiting;
      li.innerHTML = '<span class="pm-item-at"></span><span class="pm-item-what"></span><span class="pm-item-state"></span>';
      li.children[0].textContent = hhmm(item.at);
      li.children[1].textContent = what;
      li.children[2].textContent = state;
      if (item.error) {
        var drop = document.createElement("button");
        drop.type = "button";
        drop.className = "pm-drop";
        drop.textContent = T.discard;
        drop.addEventListener("click", function () {
          if (window.confirm(T.discardConfirm)) outbox.remove(item.uuid).then(refresh);
        });
        li.appendChild(drop);
      }
      el.log.appendChild(li);
    });
  }

  function refresh() {
    return outbox.all().then(render);
  }

  function setNet() {
    var online = navigator.onLine;
    el.net.textContent = online ? T.online : T.offline;
    el.net.className = "pm-pill " + (online ? "pm-pill-ok" : "pm-pill-bad");
  }

  // ---- sending -------------------------------------------------------------------------------

  var sending = false;
  var timer = null;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(flush, ms);
  }

  function base64(blob) {
    if (!blob) return Promise.resolve(null);
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result).split(",")[1] || null); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(blob);
    });
  }

  // Check-ins and exceptions go to the patrol API as JSON (the photo base64-encoded); a check-in's
  // `sent_at` is the phone's clock at sending, so the server can correct a phone whose clock is off.
  function request(item) {
    if (item.kind === "checkin") {
      return base64(item.photo).then(function (photo) {
        var payload = {
          sent_at: new Date().toISOString(),
          items: [{
            client_id: item.uuid,
            code: item.code,
            occurred_at: item.at,
            run_id: item.run,
            note: item.note || "",
            photo: photo,
            photo_name: photo ? "photo.jpg" : "",
          }],
        };
        return { body: JSON.stringify(payload), type: "application/json" };
      });
    }
    return base64(item.photo).then(function (photo) {
      var payload = {
        compound_id: COMPOUND,
        run_id: item.run,
        kind: item.exceptionKind,
        at: item.at,
        note: item.note || "",
        photo: photo,
        photo_name: photo ? "photo.jpg" : "",
        client_id: item.uuid,
      };
      return { body: JSON.stringify(payload), type: "application/json" };
    });
  }

  function sendOne(item) {
    return request(item).then(function (req) {
      var headers = { "X-CSRFToken": csrfToken(), Accept: "application/json" };
      headers["Content-Type"] = req.type;
      return fetch(URLS[item.kind], { method: "POST", body: req.body, credentials: "same-origin", headers: headers });
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var json = null;
        try { json = JSON.parse(text); } catch (e) { /* an HTML error page */ }
        return { status: resp.status, json: json };
      });
    });
  }

  // What the server said about one check-in of the batch: null when accepted ("stored", or
  // "duplicate": a repeat of one already stored), else the reasons it was refused.
  function refusal(json) {
    var result = json && json.results ? json.results[0] : null;
    if (!result || result.status !== "rejected") return null;
    return (result.errors || []).map(function (e) { return e.message; }).join(" ") || T.rejectedPlain;
  }

  function errorText(json, status) {
    if (json && json.detail) {
      if (typeof json.detail === "string") return json.detail;
      return json.detail.map(function (d) { return d.msg || JSON.stringify(d); }).join(" ");
    }
    return fmt(T.rejected, { status: status });
  }

  // A 2xx is an answer; so is a 4xx (the server looked at it and said no: keep it visible with the
  // reason, never drop it silently). Network errors, 5xx, 408 and 429 are worth another try.
  function permanent(status) {
    return status >= 400 && status < 500 && status !== 408 && status !== 429;
  }

  function flush() {
    if (sending) return Promise.resolve();
    if (!navigator.onLine) return refresh(); // the "online" event starts the next try
    sending = true;
    return outbox.all().then(function (items) {
      var now = Date.now();
      var due = items.filter(function (i) { return !i.error && (i.nextAt || 0) <= now; });
      var chain = Promise.resolve(true);
      var sent = 0;
      due.forEach(function (item) {
        chain = chain.then(function (ok) {
          if (!ok) return false; // the network is down: keep the order, try the rest later
          return sendOne(item).then(function (res) {
            if (res.status >= 200 && res.status < 300) {
              var why = refusal(res.json);
              if (why) {
                item.error = why;
                flash(why, "bad");
                return outbox.put(item).then(function () { return true; });
              }
              sent += 1;
              return outbox.remove(item.uuid).then(function () {
                flash(item.kind === "exception" ? T.exceptionSent : fmt(T.sent, { code: item.code }), "ok");
                return true;
              });
            }
            if (permanent(res.status)) {
              item.error = errorText(res.json, res.status);
              flash(item.error, "bad");
              return outbox.put(item).then(function () { return true; });
            }
            throw new Error("HTTP " + res.status);
          }).catch(function () {
            item.tries = (item.tries || 0) + 1;
            item.nextAt = Date.now() + Math.min(MAX_BACKOFF_MS, 1000 * Math.pow(2, item.tries));
            return outbox.put(item).then(function () { return false; });
          });
        });
      });
      return chain.then(function () { return sent ? loadProgress() : null; });
    }).then(refresh).then(function () {
      return outbox.all();
    }).then(function (items) {
      sending = false;
      var waiting = items.filter(function (i) { return !i.error; });
      if (waiting.length) {
        var next = Math.min.apply(null, waiting.map(function (i) { return i.nextAt || 0; }));
        schedule(Math.max(500, next - Date.now()));
      }
    }, function () { sending = false; schedule(5000); });
  }

  function enqueue(kind, fields, photoFile) {
    return shrink(photoFile).then(function (photo) {
      var item = Object.assign(
        { uuid: uuid4(), run: RUN, kind: kind, at: new Date().toISOString(), tries: 0, nextAt: 0, photo: photo },
        fields
      );
      return outbox.put(item).then(function () { return item; });
    }).then(function (item) {
      flash(navigator.onLine ? T.sending : T.savedOffline, navigator.onLine ? "info" : "warn");
      return refresh().then(flush).then(function () { return item; });
    });
  }

  // ---- check-in and exception forms ----------------------------------------------------------

  if (el.form) el.form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = el.code.value.trim();
    if (!code) {
      flash(T.codeRequired, "bad");
      el.code.focus();
      return;
    }
    enqueue("checkin", { code: code, note: el.note.value.trim() }, el.photo.files[0]).then(function () {
      el.form.reset();
      el.code.focus();
    });
  });

  if (el.exForm) {
    el.exForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var note = el.exForm.querySelector("textarea").value.trim();
      var photo = el.exForm.querySelector("input[type=file]").files[0];
      if (!note) {
        flash(T.noteRequired, "bad");
        return;
      }
      var kind = el.exForm.querySelector("select").value;
      enqueue("exception", { note: note, exceptionKind: kind }, photo).then(function () {
        el.exForm.reset();
        el.exForm.closest("details").open = false;
      });
    });
  }

  // ---- scanning: BarcodeDetector on the live camera, or on a still picture -------------------

  var detector = null;
  if ("BarcodeDetector" in window) {
    try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { detector = null; }
  }
  var stream = null;

  function found(value) {
    el.code.value = value;
    stopCamera();
    flash(fmt(T.scanned, { code: value }), "ok");
    el.note.focus();
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    el.video.hidden = true;
    el.scan.textContent = T.scan;
  }

  function scanLoop() {
    if (!stream) return;
    detector.detect(el.video).then(function (codes) {
      if (codes.length) return found(codes[0].rawValue);
      requestAnimationFrame(scanLoop);
    }).catch(function () { requestAnimationFrame(scanLoop); });
  }

  if (!el.scan) {
    // A closed run: no check-in form, only the outbox still to send.
  } else if (!detector) {
    // No detector in this browser (desktop Linux, older iOS): the code printed under the QR is typed.
    el.scan.hidden = true;
    el.scanFile.closest("label").hidden = true;
    document.getElementById("pm-scan-help").textContent = T.noScanner;
  } else {
    el.scanFile.closest("label").hidden = false; // a still picture when the live camera is refused
    el.scan.addEventListener("click", function () {
      if (stream) return stopCamera();
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        el.scanFile.click(); // no live camera (plain http, old browser): take a still picture instead
        return;
      }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
        stream = s;
        el.video.srcObject = s;
        el.video.hidden = false;
        el.scan.textContent = T.stopScan;
        return el.video.play().then(scanLoop);
      }).catch(function () {
        flash(T.cameraDenied, "warn");
        el.scanFile.click();
      });
    });
    el.scanFile.addEventListener("change", function () {
      var file = el.scanFile.files[0];
      if (!file) return;
      createImageBitmap(file).then(function (bmp) { return detector.detect(bmp); }).then(function (codes) {
        if (codes.length) found(codes[0].rawValue);
        else flash(T.noCodeInPicture, "bad");
      }).catch(function () { flash(T.noCodeInPicture, "bad"); });
    });
  }

  // ---- start ---------------------------------------------------------------------------------

  window.addEventListener("online", function () { setNet(); outbox.all().then(function (items) {
    // Back online: whatever waited for its backoff goes now.
    return Promise.all(items.filter(function (i) { return !i.error; }).map(function (i) {
      i.nextAt = 0;
      return outbox.put(i);
    }));
  }).then(flush); });
  window.addEventListener("offline", setNet);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  setNet();
  refresh().then(flush).then(loadProgress);
  if ("serviceWorker" in navigator && root.dataset.sw) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: root.dataset.swScope }).then(function () {
      // This page was loaded before the worker existed: put it and its assets in the worker's cache.
      var urls = [location.pathname + location.search];
      document.querySelectorAll("link[rel=stylesheet][href], script[src]").forEach(function (node) {
        urls.push(node.getAttribute("href") || node.getAttribute("src"));
      });
      return caches.open("anfang-patrol-v1").then(function (cache) { return cache.addAll(urls); });
    }).catch(function () {
      /* plain http on a LAN address: no offline reload, the outbox still works */
    });
  }

  window.anfangPatrol = { flush: flush, outbox: outbox }; // for tests and the curious
})();
