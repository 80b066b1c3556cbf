/*
 * abri — the proof of work a new session costs while the service is
 * flooded (lib/work.hpp says when and why).
 *
 *   window.abriWork.solve({challenge, bits}) -> Promise<nonce>
 *
 * Finds a decimal nonce such that SHA-256(challenge + ":" + nonce) starts
 * with `bits` zero bits. The hashing is plain JavaScript, not
 * crypto.subtle: for millions of tiny inputs a loop over one 64-byte block
 * is many times faster than a promise per hash (headless Chromium, side
 * by side on the same busy machine: 374 thousand hashes a second against
 * 28 thousand for crypto.subtle.digest; V8 alone, 1.4 million per second
 * of CPU). It runs in slices of SLICE_MS and
 * gives the page back between them (setTimeout), so that the page stays
 * responsive and the quick exit still works while a phone searches.
 *
 * Plain ES5, like abri.js.
 */
(function () {
  'use strict';

  var SLICE_MS = 50;        // longest the page is held at once
  var CHECK_EVERY = 1024;   // tries between two looks at the clock
  var MAX_PREFIX = 40;      // challenge + ":" as lib/work.cpp makes it: one block holds it and 15 digits

  var K = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ];
  var W = new Int32Array(64);

  // The first word of SHA-256 of the one block `bytes` (padding included):
  // all a test of at most 32 leading zero bits needs.
  function firstWord(bytes) {
    var i, t1, t2;
    for (i = 0; i < 16; i++) {
      W[i] = (bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3];
    }
    for (i = 16; i < 64; i++) {
      var w15 = W[i - 15], w2 = W[i - 2];
      var s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
      var s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    var a = 0x6a09e667, b = 0xbb67ae85, c = 0x3c6ef372, d = 0xa54ff53a;
    var e = 0x510e527f, f = 0x9b05688c, g = 0x1f83d9ab, h = 0x5be0cd19;
    for (i = 0; i < 64; i++) {
      t1 = (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
            ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
            ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    return (a + 0x6a09e667) >>> 0;
  }

  // One padded block holding `prefix` then room for the nonce's digits.
  function Block(prefix) {
    this.bytes = new Uint8Array(64);
    this.start = prefix.length;
    for (var i = 0; i < prefix.length; i++) this.bytes[i] = prefix.charCodeAt(i);
  }

  // Hashes prefix + the decimal digits of `nonce`.
  Block.prototype.hash = function (nonce) {
    var bytes = this.bytes, digits = String(nonce), end = this.start + digits.length, i;
    for (i = 0; i < digits.length; i++) bytes[this.start + i] = digits.charCodeAt(i);
    bytes[end] = 0x80;
    for (i = end + 1; i < 62; i++) bytes[i] = 0;
    bytes[62] = (end * 8) >>> 8;
    bytes[63] = (end * 8) & 0xff;
    return firstWord(bytes);
  };

  function solve(work) {
    var prefix = String(work.challenge) + ':';
    var bits = work.bits | 0;
    if (prefix.length > MAX_PREFIX || !/^[A-Za-z0-9_-]+:$/.test(prefix) || bits < 1 || bits > 32) {
      return Promise.reject(new Error('abriWork: unexpected challenge'));
    }
    var block = new Block(prefix);
    var shift = 32 - bits;
    var nonce = 0;
    return new Promise(function (resolve) {
      function slice() {
        var until = Date.now() + SLICE_MS;
        do {
          for (var n = 0; n < CHECK_EVERY; n++, nonce++) {
            if ((block.hash(nonce) >>> shift) === 0) return resolve(String(nonce));
          }
        } while (Date.now() < until);
        setTimeout(slice, 0);
      }
      slice();
    });
  }

  window.abriWork = { solve: solve };
}());
