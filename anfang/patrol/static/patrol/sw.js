// Service worker of the guard's phone page (scope /patrol/m/). A patrol walks through basements and
// stairwells without signal: if the browser reloads the page there, it comes from this cache, and
// the check-ins queued in IndexedDB keep waiting. Network first, so a page is never staler than the
// last time the phone had signal; writes (POST, the API) are never touched.
var CACHE = "anfang-patrol-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var page = url.pathname.indexOf(self.registration.scope.replace(self.location.origin, "")) === 0;
  var asset = url.pathname.indexOf("/static/") >= 0;
  if (!page && !asset) return;
  event.respondWith(
    fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(request, { ignoreVary: true }).then(function (hit) {
        return hit || Response.error();
      });
    })
  );
});
