// The phone pass page: binds this phone to the pass once, then shows a code
// that changes every 10 s (see protocol/src/holder.rs for the format).
// The private key is made by WebCrypto as not extractable and kept in
// IndexedDB: no script, not even this one, can read it out.
(function () {
  'use strict';
  var el = document.getElementById('live');
  var status = document.getElementById('live-status');
  var d = el.dataset;
  function say(text) { status.textContent = text; }
  if (!window.crypto || !crypto.subtle || !window.indexedDB) { say(d.msgNoCrypto); return; }
  // The server's clock at page load: a phone whose clock is wrong still
  // makes codes the kiosks accept.
  var skew = Number(d.now) - Date.now();
  var A45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

  function b45encode(b) {
    var out = '';
    for (var i = 0; i + 1 < b.length; i += 2) {
      var n = b[i] * 256 + b[i + 1];
      out += A45[n % 45] + A45[Math.floor(n / 45) % 45] + A45[Math.floor(n / 2025)];
    }
    if (b.length % 2) { var m = b[b.length - 1]; out += A45[m % 45] + A45[Math.floor(m / 45)]; }
    return out;
  }
  function b45decode(s) {
    var out = [];
    for (var i = 0; i < s.length; i += 3) {
      var c = s.substr(i, 3), n = 0;
      for (var j = c.length - 1; j >= 0; j--) n = n * 45 + A45.indexOf(c[j]);
      if (c.length === 3) out.push(n >> 8, n & 255); else out.push(n);
    }
    return new Uint8Array(out);
  }
  function hex(b) { return Array.prototype.map.call(b, function (x) { return (x < 16 ? '0' : '') + x.toString(16); }).join(''); }
  function u32(t) { return new Uint8Array([t >>> 24, (t >>> 16) & 255, (t >>> 8) & 255, t & 255]); }
  function concat(parts) {
    var n = 0, at = 0;
    parts.forEach(function (p) { n += p.length; });
    var out = new Uint8Array(n);
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }
  function idb(run) {
    return new Promise(function (ok, fail) {
      var open = indexedDB.open('shoumen-passes', 1);
      open.onupgradeneeded = function () { open.result.createObjectStore('holders'); };
      open.onerror = function () { fail(open.error); };
      open.onsuccess = function () {
        var tx = open.result.transaction('holders', 'readwrite');
        var req = run(tx.objectStore('holders'));
        tx.oncomplete = function () { ok(req.result); };
        tx.onerror = function () { fail(tx.error); };
      };
    });
  }

  // Ed25519 where the browser has it; ECDSA P-256 everywhere else.
  function makeKey() {
    return crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']).then(function (k) {
      return { alg: 'Ed25519', keys: k };
    }, function () {
      return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']).then(function (k) {
        return { alg: 'P-256', keys: k };
      });
    });
  }

  function bind() {
    say(d.msgSettingUp);
    return makeKey().then(function (made) {
      return crypto.subtle.exportKey('raw', made.keys.publicKey).then(function (raw) {
        var body = 'alg=' + made.alg + '&key=' + hex(new Uint8Array(raw));
        return fetch(d.bind, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: body });
      }).then(function (resp) {
        return resp.text().then(function (text) {
          if (!resp.ok) throw new Error(text);
          var answer = JSON.parse(text);
          var rec = { alg: made.alg, key: made.keys.privateKey, holder: answer.holder, pass: answer.pass };
          return idb(function (s) { return s.put(rec, d.passId); }).then(function () { return rec; });
        });
      });
    });
  }

  function show(rec) {
    // The server's copy is newer after a key rotation re-signed the pass.
    var pass = d.holder === rec.holder && d.pass ? d.pass : rec.pass;
    var cose = b45decode(pass.slice(4));
    var algo = rec.alg === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
    function draw() {
      var t = Math.floor((Date.now() + skew) / 1000);
      var msg = concat([new TextEncoder().encode('SMR1'), u32(t), cose]);
      return crypto.subtle.sign(algo, rec.key, msg).then(function (sig) {
        var code = 'SMR:' + b45encode(concat([u32(t), new Uint8Array(sig), cose]));
        var qr = qrcode(0, 'M');
        qr.addData(code, 'Alphanumeric');
        qr.make();
        el.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 16, scalable: true });
        el.dataset.time = String(t);
        say(d.msgLive);
      });
    }
    draw().catch(function (e) { say(String(e)); });
    setInterval(function () { draw().catch(function (e) { say(String(e)); }); }, 10000);
  }

  idb(function (s) { return s.get(d.passId); }).then(function (rec) {
    if (rec && (!d.holder || d.holder === rec.holder)) return rec;
    // Set up on another phone (or reset by the committee): this one has no say.
    if (d.holder) throw new Error(d.msgOther);
    return bind();
  }).then(show).catch(function (e) { say(e.message || String(e)); });
})();
