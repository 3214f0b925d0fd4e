// puerta's verifier (/verify): checks a proof in the browser, as docs/proofs.md describes it,
// and keeps working without a network once the page, the keys and the status list are saved.
// The format itself is read by verify-proof.js; WebCrypto checks the Ed25519 signatures.
// Everything shown is put in with textContent: nothing read from a proof is ever markup.
(function () {
  "use strict";

  var CACHE = "puerta-verify-v1"; // the service worker (verify-sw.js) serves from it
  var KEYS_URL = "/.well-known/puerta-keys.json";
  var STATUS_URL = "/.well-known/puerta-status.json";
  var P = window.puertaProof; // verify-proof.js
  var fromB64url = P.fromB64url, toB64url = P.toB64url, need = P.need, isInt = P.isInt;

  var dataNode = document.getElementById("verify-data");
  if (!dataNode) { return; }
  var data = JSON.parse(dataNode.textContent);
  var T = data.texts;
  // K'iche' has no locale data in browsers: its dates are written as in Spanish.
  var locales = [document.documentElement.lang || "es", "es"];

  function $(id) { return document.getElementById(id); }

  // ---- The keys and the status list, from the network when there is one, else as saved.
  var state = { keys: null, keysDate: null, status: null, statusDate: null, offline: false };

  async function fetchSaved(url) {
    var cache = "caches" in window ? await caches.open(CACHE).catch(function () { return null; }) : null;
    try {
      var response = await fetch(url, { cache: "no-store" });
      if (!response.ok) { throw new Error("answered " + response.status); }
      // The service worker marks what it answered from its cache.
      var saved = response.headers.get("X-Puerta-Saved") === "1";
      if (cache && !saved) { await cache.put(url, await stamped(response.clone())); }
      return { response: response, saved: saved, fetched: saved ? fetchedAt(response) : Date.now() };
    } catch (error) {
      var hit = cache ? await cache.match(url, { ignoreVary: true }) : null;
      return hit ? { response: hit, saved: true, fetched: fetchedAt(hit) } : null;
    }
  }

  // The saved copy carries when this device fetched it, by the device's own clock.
  async function stamped(response) {
    var headers = new Headers(response.headers);
    headers.set("X-Puerta-Fetched", String(Date.now()));
    return new Response(await response.blob(), { status: response.status, headers: headers });
  }

  function fetchedAt(response) {
    var when = Number(response.headers.get("X-Puerta-Fetched"));
    return when > 0 ? when : Date.now();
  }

  async function importKey(jwk) {
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") { return null; }
    var raw = fromB64url(jwk.x);
    if (raw.length !== 32) { return null; }
    // The key id is the first 8 bytes of the key's SHA-256: computed, not trusted.
    var digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
    var key = await crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    var until = jwk.signs_until ? Date.parse(jwk.signs_until) : Infinity;
    return { kid: toB64url(digest.subarray(0, 8)), key: key, from: Date.parse(jwk.signs_from), until: until };
  }

  async function loadKeys() {
    var got = await fetchSaved(KEYS_URL);
    if (!got) { return; }
    var published = await got.response.json();
    var keys = [];
    for (var i = 0; i < (published.keys || []).length; i++) {
      var key = await importKey(published.keys[i]);
      if (key) { keys.push(key); }
    }
    state.keys = keys;
    state.keysDate = got.fetched;
    state.offline = got.saved;
  }

  function findKey(kid) {
    return (state.keys || []).filter(function (key) { return key.kid === kid; })[0] || null;
  }

  function verifySignature(key, signature, message) {
    return crypto.subtle.verify({ name: "Ed25519" }, key.key, signature, message);
  }

  async function gunzip(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  async function readStatusList(doc) {
    var key = findKey(doc.kid), payload = fromB64url(doc.payload);
    need(key && await verifySignature(key, fromB64url(doc.signature), payload));
    var list = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    need(list.issuer === "puerta" && list.statusPurpose === "revocation" && isInt(list.size));
    need(typeof list.encodedList === "string" && list.encodedList.charAt(0) === "u");
    var bits = await gunzip(fromB64url(list.encodedList.slice(1)));
    need(bits.length * 8 === list.size);
    return { bits: bits, size: list.size };
  }

  async function loadStatus() {
    var got = await fetchSaved(STATUS_URL);
    if (!got) { return; }
    try {
      state.status = await readStatusList(await got.response.json());
      state.statusDate = got.fetched;
    } catch (error) {
      state.status = null;
    }
  }

  // Bit i is byte i // 8, bit 7 - i % 8: the first index is the left-most bit. 1 = revoked.
  // An index past the list is newer than the list, so not revoked in it.
  function revoked(index) {
    var bits = state.status.bits;
    return index < state.status.size && ((bits[index >> 3] >> (7 - (index % 8))) & 1) === 1;
  }

  // ---- Checking one proof: not_a_proof, forged, unknown_key, revoked, expired or valid.
  async function check(text) {
    // Line breaks go (a pasted proof may be wrapped); spaces inside stay, being Base45's own.
    // None can end a proof: Base45's last character is at most "5" (of two) or "W" (of three).
    var token = text.replace(/[\r\n\t]/g, "").trim();
    if (token.slice(0, P.PREFIX.length) !== P.PREFIX) { return { outcome: "not_a_proof" }; }
    var proof;
    try {
      proof = P.parseProof(P.base45(token.slice(P.PREFIX.length)));
    } catch (error) {
      return { outcome: "forged" };
    }
    var key = findKey(toB64url(proof.kid));
    if (!key) { return { outcome: "unknown_key", note: state.keys ? null : T.not_saved }; }
    var message = P.sigStructure(proof.protectedBytes, proof.payload);
    if (!(await verifySignature(key, proof.signature, message))) { return { outcome: "forged" }; }
    var facts;
    try {
      facts = P.readClaims(proof.payload);
    } catch (error) {
      return { outcome: "forged" };
    }
    // A key signs only within its dates: a proof dated outside them is not its own.
    if (facts.iat * 1000 < key.from || facts.iat * 1000 >= key.until) { return { outcome: "forged" }; }
    // Then expiry, then the status bit: the order puerta's own verifier answers in.
    if (Date.now() >= facts.exp * 1000) { return { outcome: "expired", facts: facts }; }
    if (state.status && revoked(facts.index)) { return { outcome: "revoked", facts: facts }; }
    return { outcome: "valid", facts: facts, note: state.status ? null : T.no_status };
  }

  // ---- Showing the answer, in the official's language.
  function format(options, when) { return new Intl.DateTimeFormat(locales, options).format(when); }

  function serviceDay(iso) {
    var p = iso.split("-").map(Number);
    return format({ dateStyle: "full", timeZone: "UTC" }, new Date(Date.UTC(p[0], p[1] - 1, p[2])));
  }

  function portZone(slug) { return (data.ports[slug] || {}).zone || "UTC"; }

  function slotTime(seconds, slug) {
    var options = { hour: "2-digit", minute: "2-digit", timeZone: portZone(slug), timeZoneName: "short" };
    return format(options, new Date(seconds * 1000));
  }

  function age(when) {
    var seconds = (when - Date.now()) / 1000, units = [["day", 86400], ["hour", 3600], ["minute", 60]];
    var words = new Intl.RelativeTimeFormat(locales, { numeric: "auto" });
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1]) { return words.format(Math.round(seconds / units[i][1]), units[i][0]); }
    }
    return words.format(0, "minute");
  }

  function element(name, text) {
    var node = document.createElement(name);
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function isolated(text) { return element("bdi", String(text)); }

  function factRows(facts) {
    var rows = [[T.kind, T[facts.type]]];
    if (facts.type === "appointment") {
      rows.push([T.port, (data.ports[facts.port] || {}).name || facts.port]);
      rows.push([T.date, serviceDay(facts.date)]);
      rows.push([T.slot, slotTime(facts.slot, facts.port)]);
    }
    rows.push([T.persons, new Intl.NumberFormat(locales).format(facts.persons)]);
    rows.push([T.members, facts.members]);
    // An appointment's expiry in its port's zone, as its time; a registration's in the phone's.
    var zone = facts.type === "appointment" ? { timeZone: portZone(facts.port), timeZoneName: "short" } : {};
    var expiry = Object.assign({ year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit" }, zone);
    rows.push([T.expires, format(expiry, new Date(facts.exp * 1000))]);
    return rows;
  }

  function factList(facts) {
    var list = element("dl");
    factRows(facts).forEach(function (row) {
      var value = element("dd");
      if (Array.isArray(row[1])) {
        var people = element("ul");
        people.className = "plain";
        row[1].forEach(function (member) {
          var item = element("li");
          item.appendChild(isolated(member.initials));
          item.appendChild(document.createTextNode(" · "));
          item.appendChild(isolated(member.birthYear));
          people.appendChild(item);
        });
        value.appendChild(people);
      } else {
        value.appendChild(isolated(row[1]));
      }
      list.appendChild(element("dt", row[0]));
      list.appendChild(value);
    });
    return list;
  }

  function show(result) {
    var box = $("verify-result");
    box.textContent = "";
    box.setAttribute("data-outcome", result.outcome);
    box.appendChild(element("h3", T[result.outcome]));
    if (result.facts) { box.appendChild(factList(result.facts)); }
    if (result.note) { box.appendChild(element("p", result.note)); }
    box.focus();
  }

  function showSaved(ready) {
    $("verify-keys-age").textContent = state.keysDate ? T.keys_age.replace("{age}", age(state.keysDate)) : T.not_saved;
    $("verify-status-age").textContent = state.statusDate ? T.status_age.replace("{age}", age(state.statusDate)) : T.no_status;
    var line = state.offline ? T.offline : ready ? T.ready : "";
    $("verify-ready").textContent = line;
    $("verify-cache").setAttribute("data-ready", ready ? "yes" : "no");
  }

  // ---- Working offline: the service worker, and the page's own files saved in its cache.
  function registerWorker() {
    if (!("serviceWorker" in navigator)) { return Promise.resolve(false); }
    return navigator.serviceWorker.register("/verify-sw.js", { scope: "/verify" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function () { return true; }, function () { return false; });
  }

  function pageFiles() {
    var urls = [location.pathname];
    document.querySelectorAll("link[href]").forEach(function (link) { urls.push(link.getAttribute("href")); });
    document.querySelectorAll("script[src]").forEach(function (script) { urls.push(script.getAttribute("src")); });
    document.querySelectorAll("use[href]").forEach(function (use) { urls.push(use.getAttribute("href").split("#")[0]); });
    return urls.filter(function (url, at) { return url.charAt(0) === "/" && urls.indexOf(url) === at; });
  }

  async function savePage() {
    if (!("caches" in window)) { return false; }
    var cache = await caches.open(CACHE), urls = pageFiles();
    await cache.addAll(urls);
    // The files of older versions of the page (their addresses carry a content hash).
    var current = urls.map(function (url) { return new URL(url, location.href).href; });
    (await cache.keys()).forEach(function (request) {
      if (new URL(request.url).pathname.indexOf("/static/") === 0 && current.indexOf(request.url) < 0) {
        cache.delete(request);
      }
    });
    return true;
  }

  var loading = null;

  function refresh() {
    loading = (async function () {
      await loadKeys().catch(function () { state.keys = state.keys || null; });
      await loadStatus();
      var saved = state.offline ? false : await savePage().catch(function () { return false; });
      var worker = await registerWorker();
      showSaved(worker && Boolean(state.keys) && (saved || Boolean(navigator.serviceWorker.controller)));
    })();
    return loading;
  }

  // ---- The camera, where the browser can read QR codes itself (Chrome on Android).
  var camera = { stream: null, scanning: false };

  function stopCamera() {
    camera.scanning = false;
    if (camera.stream) { camera.stream.getTracks().forEach(function (track) { track.stop(); }); }
    camera.stream = null;
    $("verify-camera").hidden = true;
    $("verify-scan").hidden = false;
  }

  function scanFrames(detector) {
    if (!camera.scanning) { return; }
    detector.detect($("verify-video")).then(function (codes) {
      if (!codes.length) { setTimeout(function () { scanFrames(detector); }, 200); return; }
      stopCamera();
      $("verify-token").value = codes[0].rawValue;
      runCheck();
    }, function () { setTimeout(function () { scanFrames(detector); }, 400); });
  }

  async function startCamera() {
    var note = $("verify-camera-status");
    try {
      camera.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (error) {
      note.textContent = T.camera_failed;
      return;
    }
    $("verify-scan").hidden = true;
    $("verify-camera").hidden = false;
    $("verify-video").srcObject = camera.stream;
    await $("verify-video").play().catch(function () { return null; });
    note.textContent = T.aim;
    camera.scanning = true;
    scanFrames(new window.BarcodeDetector({ formats: ["qr_code"] }));
  }

  function offerCamera() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) { return; }
    window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") >= 0) { $("verify-scan").hidden = false; }
    }, function () { return null; });
    $("verify-scan").addEventListener("click", startCamera);
    $("verify-stop").addEventListener("click", function () { stopCamera(); $("verify-camera-status").textContent = ""; $("verify-scan").focus(); });
  }

  async function runCheck() {
    var text = $("verify-token").value;
    if (!text.trim()) { show({ outcome: "empty" }); return; }
    await loading;
    show(await check(text));
  }

  function start() {
    $("verify-check").hidden = false;
    $("verify-cache").hidden = false;
    if (!window.crypto || !crypto.subtle || !("DecompressionStream" in window)) {
      $("verify-result").textContent = T.no_crypto;
      return;
    }
    $("verify-form").addEventListener("submit", function (event) { event.preventDefault(); runCheck(); });
    $("verify-refresh").addEventListener("click", refresh);
    window.addEventListener("online", refresh);
    offerCamera();
    refresh();
  }

  start();
})();
