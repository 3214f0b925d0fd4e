// puerta's proof format in the browser (docs/proofs.md), for the verifier page (verify.js):
// Base45 (RFC 9285), the small part of CBOR (RFC 8949) that COSE_Sign1 (RFC 9052) and the CWT
// claims (RFC 8392) use, and the Sig_structure that Ed25519 signs. Written here, no library.
(function () {
  "use strict";

  var PREFIX = "PU1:";
  var PRIVATE_CLAIM = -65537; // puerta's claims (RFC 8392: below -65536 is private use)
  var EDDSA = -8;

  // ---- Base45 (RFC 9285): three characters for two bytes, the first the least significant.
  var B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

  function base45(text) {
    if (text.length % 3 === 1) { throw new Error("base45: length"); }
    var out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 ? 1 : 0));
    var at = 0;
    for (var i = 0; i < text.length; i += 3) {
      var chunk = text.slice(i, i + 3), value = 0, factor = 1;
      for (var j = 0; j < chunk.length; j++) {
        var digit = B45.indexOf(chunk[j]);
        if (digit < 0) { throw new Error("base45: character"); }
        value += digit * factor;
        factor *= 45;
      }
      if (chunk.length === 3) {
        if (value > 0xffff) { throw new Error("base45: value"); }
        out[at++] = value >> 8;
        out[at++] = value & 0xff;
      } else {
        if (value > 0xff) { throw new Error("base45: value"); }
        out[at++] = value;
      }
    }
    return out;
  }

  // ---- base64url without padding (JWKS, the status list).
  function fromB64url(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text)) { throw new Error("b64url"); }
    var plain = text.replace(/-/g, "+").replace(/_/g, "/");
    while (plain.length % 4) { plain += "="; }
    var binary = atob(plain);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { out[i] = binary.charCodeAt(i); }
    return out;
  }

  function toB64url(bytes) {
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // ---- CBOR (RFC 8949), only what the format uses: integers, byte and text strings, arrays,
  // maps and tag 18, all of definite length. Anything else is refused, as is trailing data.
  var ARG_BYTES = { 24: 1, 25: 2, 26: 4, 27: 8 };

  function Reader(bytes) { this.bytes = bytes; this.at = 0; }

  Reader.prototype.take = function (n) {
    if (n > this.bytes.length - this.at) { throw new Error("cbor: too short"); }
    var part = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return part;
  };

  Reader.prototype.argument = function (info) {
    if (info < 24) { return info; }
    var size = ARG_BYTES[info];
    if (!size) { throw new Error("cbor: indefinite or reserved length"); }
    var value = 0, part = this.take(size);
    for (var i = 0; i < size; i++) { value = value * 256 + part[i]; }
    if (value > Number.MAX_SAFE_INTEGER) { throw new Error("cbor: integer too large"); }
    return value;
  };

  Reader.prototype.item = function (depth) {
    if (depth > 8) { throw new Error("cbor: too deep"); }
    var head = this.take(1)[0], major = head >> 5;
    if (major === 7) { throw new Error("cbor: floats and simple values are not used"); }
    var n = this.argument(head & 31);
    switch (major) {
      case 0: return n;
      case 1: return -1 - n;
      case 2: return this.take(n);
      case 3: return new TextDecoder("utf-8", { fatal: true }).decode(this.take(n));
      case 4: return this.array(n, depth);
      case 5: return this.map(n, depth);
      default: // 6: a tag; only COSE_Sign1's 18, and only around the whole proof
        if (n !== 18 || depth !== 0) { throw new Error("cbor: tag"); }
        return { tag: 18, value: this.item(depth + 1) };
    }
  };

  Reader.prototype.array = function (n, depth) {
    // Each item takes a byte at least: a length beyond what is left is a lie.
    if (n > this.bytes.length - this.at) { throw new Error("cbor: array length"); }
    var items = [];
    for (var i = 0; i < n; i++) { items.push(this.item(depth + 1)); }
    return items;
  };

  Reader.prototype.map = function (n, depth) {
    if (2 * n > this.bytes.length - this.at) { throw new Error("cbor: map length"); }
    var map = new Map();
    for (var i = 0; i < n; i++) {
      var key = this.item(depth + 1);
      if (typeof key !== "number" && typeof key !== "string") { throw new Error("cbor: key"); }
      if (map.has(key)) { throw new Error("cbor: duplicate key"); }
      map.set(key, this.item(depth + 1));
    }
    return map;
  };

  function decodeCbor(bytes) {
    var reader = new Reader(bytes);
    var value = reader.item(0);
    if (reader.at !== bytes.length) { throw new Error("cbor: trailing bytes"); }
    return value;
  }

  // The head of a definite-length byte string, in its shortest form (RFC 8949 §4.2.1).
  function bstrHead(n) {
    if (n < 24) { return [0x40 + n]; }
    if (n < 0x100) { return [0x58, n]; }
    if (n < 0x10000) { return [0x59, n >> 8, n & 0xff]; }
    return [0x5a, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  }

  function concat(parts) {
    var length = 0, at = 0;
    parts.forEach(function (part) { length += part.length; });
    var out = new Uint8Array(length);
    parts.forEach(function (part) { out.set(part, at); at += part.length; });
    return out;
  }

  // Sig_structure = ["Signature1", protected, h'', payload] (RFC 9052 §4.4), built around the
  // protected header and payload bytes exactly as received: nothing is re-encoded.
  function sigStructure(protectedBytes, payload) {
    var context = new TextEncoder().encode("Signature1");
    return concat([
      new Uint8Array([0x84, 0x60 + context.length]), context,
      new Uint8Array(bstrHead(protectedBytes.length)), protectedBytes,
      new Uint8Array([0x40]),
      new Uint8Array(bstrHead(payload.length)), payload
    ]);
  }

  function isBytes(value) { return value instanceof Uint8Array; }
  function isInt(value) { return typeof value === "number" && Number.isInteger(value); }

  function need(condition) { if (!condition) { throw new Error("not this format"); } }

  // COSE_Sign1: tag 18 around [protected bstr, unprotected map, payload bstr, signature bstr].
  function parseProof(bytes) {
    var top = decodeCbor(bytes);
    need(top && top.tag === 18 && Array.isArray(top.value) && top.value.length === 4);
    var parts = top.value;
    need(isBytes(parts[0]) && parts[1] instanceof Map && isBytes(parts[2]) && isBytes(parts[3]));
    var header = decodeCbor(parts[0]);
    need(header instanceof Map && header.get(1) === EDDSA && isBytes(header.get(4)));
    need(parts[3].length === 64);
    return { protectedBytes: parts[0], kid: header.get(4), payload: parts[2], signature: parts[3] };
  }

  function readMembers(list) {
    need(Array.isArray(list));
    return list.map(function (member) {
      need(Array.isArray(member) && member.length === 2);
      need(typeof member[0] === "string" && isInt(member[1]));
      return { initials: member[0], birthYear: member[1] };
    });
  }

  // The CWT claims map: iss, iat, exp and puerta's own claims.
  function readClaims(payload) {
    var claims = decodeCbor(payload);
    need(claims instanceof Map && claims.get(1) === "puerta");
    var own = claims.get(PRIVATE_CLAIM);
    need(isInt(claims.get(6)) && isInt(claims.get(4)) && own instanceof Map);
    var facts = {
      iat: claims.get(6), exp: claims.get(4), type: own.get(1), persons: own.get(5),
      members: readMembers(own.get(6)), index: own.get(7)
    };
    need(facts.type === "registration" || facts.type === "appointment");
    need(isInt(facts.persons) && isInt(facts.index) && facts.index >= 0);
    if (facts.type === "appointment") {
      facts.port = own.get(2);
      facts.date = own.get(3);
      facts.slot = own.get(4);
      need(typeof facts.port === "string" && /^\d{4}-\d{2}-\d{2}$/.test(facts.date || ""));
      need(isInt(facts.slot));
    }
    return facts;
  }

  window.puertaProof = {
    PREFIX: PREFIX, base45: base45, fromB64url: fromB64url, toB64url: toB64url,
    decodeCbor: decodeCbor, sigStructure: sigStructure, parseProof: parseProof,
    readClaims: readClaims, isInt: isInt, need: need
  };
})();
