// The verifier's service worker (served at /verify-sw.js, scope /verify): with no network, it
// answers the page, its files, the keys and the status list from the copies saved in the cache
// (verify.js saves them on every visit with a network). Nothing else is answered by it.
"use strict";

var CACHE = "puerta-verify-v1";
var PAGE = "/verify";
var DOCUMENTS = ["/.well-known/puerta-keys.json", "/.well-known/puerta-status.json"];

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("puerta-verify-") === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// A copy from the cache, marked so that the page can say it is working offline.
function saved(response) {
  var headers = new Headers(response.headers);
  headers.set("X-Puerta-Saved", "1");
  return response.blob().then(function (body) {
    return new Response(body, { status: response.status, statusText: response.statusText, headers: headers });
  });
}

// The network first (and keep what it answers); the saved copy when there is no network.
function networkFirst(request, key) {
  return caches.open(CACHE).then(function (cache) {
    return fetch(request).then(function (response) {
      if (response.ok) { cache.put(key, response.clone()); }
      return response;
    }, function (error) { return fromCache(key, error); });
  });
}

function fromCache(key, error) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(key, { ignoreVary: true, ignoreSearch: true });
  }).then(function (hit) {
    if (!hit) { throw error; }
    return saved(hit);
  });
}

// Static files carry a content hash in their address: a saved copy is always the right one.
function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(networkFirst(request, PAGE));
  } else if (DOCUMENTS.indexOf(url.pathname) >= 0) {
    // verify.js saves these itself, with the time it fetched them.
    event.respondWith(fetch(request).catch(function (error) { return fromCache(url.pathname, error); }));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(cacheFirst(request));
  }
});
