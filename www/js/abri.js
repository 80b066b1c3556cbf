/*
 * abri — the victims' page.
 *
 * One page, three steps (form, chat, erased) shown and hidden in place:
 * no navigation, no pushState, no hash, so the browser's history gains no
 * entry. Nothing is stored in the browser: the session token lives in the
 * `conv` object only, and forget() drops it with everything else.
 * Messages are rendered with textContent, never as HTML.
 *
 * The quick exit (red link, skip link, or Shift pressed alone three times)
 * blanks the page, tells the server (keepalive), and replaces this page in
 * the history with the neutral site. See README.md, "The victims' page".
 *
 * Plain ES5 on purpose: it must run on old phones without a build step.
 */
(function () {
  'use strict';

  // Limits and timings, in one place.
  var POLL_WAIT_S = 25;          // long-poll wait asked of the server (contract: at most 30)
  var POLL_TIMEOUT_MS = 40000;   // a poll that outlives its wait is dead: abort it
  var POLL_MIN_GAP_MS = 1000;    // an empty answer faster than this delays the next poll
  var BACKOFF_MIN_MS = 1000;     // first retry after a network failure
  var BACKOFF_MAX_MS = 30000;    // retries never wait longer than this
  var SHIFT_PRESSES = 3;         // Shift presses that trigger the quick exit
  var SHIFT_GAP_MS = 2000;       // longest pause between two of them
  var SLOW_LEAVE_MS = 400;       // without fetch keepalive, wait this long for the leave call
  var POSTCODE = /^[0-9]{5}$/;

  var KIND = { police: 'Police nationale', gendarmerie: 'Gendarmerie nationale' };
  var WHO = { police: 'Police', gendarmerie: 'Gendarmerie' };
  var STATE_TEXT = {
    waiting: 'En attente d’une personne de l’équipe. Vous pouvez déjà écrire : votre message sera lu dès qu’elle vous rejoint.',
    active: 'Une personne de l’équipe est en ligne avec vous.',
    closed: 'La conversation est terminée par l’équipe. Vous pouvez encore la relire, puis l’effacer.',
    expired: 'La conversation a expiré. Vous pouvez encore la relire, puis l’effacer.'
  };
  var NET_DOWN = 'Il est impossible de joindre le service. Vérifiez votre connexion et réessayez. En cas de danger, appelez le 17 ou envoyez un SMS au 114.';

  function $(id) { return document.getElementById(id); }

  var exitUrl = $('exit').href;   // configured in index.html, nowhere else
  var hasKeepalive = typeof Request === 'function' && 'keepalive' in Request.prototype;
  var leaving = false;            // the quick exit has started: nothing renders any more

  // The one conversation, or null. Every field is dropped by forget().
  //   token   bearer token, in memory only
  //   kind    'police' | 'gendarmerie'
  //   lastId  highest message id received from the long-poll
  //   seen    ids already on the page (own messages arrive twice)
  //   state   'waiting' | 'active' | 'closed' | 'expired'
  //   ctrl    AbortController of the running poll
  //   timer   pending retry or poll timer
  //   failures consecutive failed polls, for the backoff
  var conv = null;

  /* ---------- small helpers ---------- */

  function show(id) {
    ['start', 'chat', 'ended'].forEach(function (s) { $(s).hidden = s !== id; });
  }

  function setError(id, text) {
    var el = $(id);
    el.textContent = text || '';
    el.hidden = !text;
  }

  function announce(text) {
    var live = $('live');
    live.textContent = '';
    // A fresh text node after a tick is announced more reliably.
    setTimeout(function () { if (!leaving) live.textContent = text; }, 50);
  }

  function errorText(r, fallback) {
    return (r && r.data && r.data.error && r.data.error.message) || fallback;
  }

  // One API call. Resolves to {status, data}; rejects on network failure.
  function api(method, path, body, c, ctrl) {
    var headers = {};
    if (body !== null) headers['Content-Type'] = 'application/json';
    if (c) headers.Authorization = 'Bearer ' + c.token;
    var init = {
      method: method, headers: headers, credentials: 'omit',
      cache: 'no-store', referrerPolicy: 'no-referrer'
    };
    if (body !== null) init.body = JSON.stringify(body);
    if (ctrl) init.signal = ctrl.signal;
    return fetch(path, init).then(function (res) {
      return res.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        return { status: res.status, data: data };
      });
    });
  }

  /* ---------- step 1: the form ---------- */

  function startSubmit(e) {
    e.preventDefault();
    var form = $('start-form');
    var role = form.querySelector('input[name="role"]:checked');
    var input = $('postcode');
    var postcode = input.value.replace(/\s+/g, '');
    var bad = false;
    setError('start-error', '');
    setError('role-error', role ? '' : 'Indiquez si vous subissez les violences ou si vous en êtes témoin.');
    if (!role) bad = true;
    if (!POSTCODE.test(postcode)) {
      showPostcodeError(postcode ? 'Le code postal doit avoir 5 chiffres, par exemple 75011.' : 'Indiquez le code postal du lieu où vous êtes.');
      if (!bad) input.focus();
      bad = true;
    } else {
      showPostcodeError('');
    }
    if (bad) {
      if (!role) form.querySelector('input[name="role"]').focus();
      return;
    }
    var button = form.querySelector('button');
    button.disabled = true;
    var body = { postcode: postcode, role: role.value };
    api('POST', '/api/session', body, null).then(function (r) {
      // Flooded: the server asks this device for a second of work (js/work.js), then once again.
      var work = r.status === 429 && r.data && r.data.error && r.data.error.work;
      if (!work || !window.abriWork) return r;
      setError('start-error', 'Un instant…');
      return window.abriWork.solve(work).then(function (nonce) {
        body.work_challenge = work.challenge;
        body.work_nonce = nonce;
        return api('POST', '/api/session', body, null);
      });
    }).then(function (r) {
      button.disabled = false;
      setError('start-error', '');
      if (leaving) return;
      if (r.status === 201 && r.data && r.data.token) {
        openChat(r.data);
      } else if (r.data && r.data.error && r.data.error.code === 'invalid_postcode') {
        showPostcodeError(errorText(r, 'Ce code postal n’est pas reconnu.'));
        input.focus();
      } else {
        setError('start-error', errorText(r, NET_DOWN));
      }
    }, function () {
      button.disabled = false;
      if (!leaving) setError('start-error', NET_DOWN);
    });
  }

  function showPostcodeError(text) {
    setError('postcode-error', text);
    if (text) $('postcode').setAttribute('aria-invalid', 'true');
    else $('postcode').removeAttribute('aria-invalid');
  }

  function resetForm() {
    $('start-form').reset();
    showPostcodeError('');
    setError('role-error', '');
    setError('start-error', '');
  }

  /* ---------- step 2: the chat ---------- */

  function openChat(d) {
    conv = {
      token: d.token, kind: d.unit && d.unit.kind, lastId: 0, seen: {},
      state: '', ctrl: null, timer: null, failures: 0
    };
    resetForm();   // the postcode leaves the page too
    $('unit-name').textContent = (d.unit && d.unit.name) || 'l’équipe la plus proche';
    $('unit-kind').textContent = KIND[conv.kind] || '';
    $('log').textContent = '';
    $('text').value = '';
    setError('text-error', '');
    hideConfirm();
    show('chat');
    setState(conv, 'waiting');
    $('chat-title').focus();
    poll(conv);
  }

  function setState(c, state) {
    if (conv !== c || c.state === state) return;
    c.state = state;
    var over = state === 'closed' || state === 'expired';
    var el = $('chat-state');
    el.textContent = STATE_TEXT[state] || '';
    el.className = over ? 'state over' : 'state';
    $('compose').hidden = over;
    $('end').textContent = over ? 'Effacer la conversation' : 'Terminer et effacer la conversation';
    if (over) { setNet(''); stopPolling(c); }
    announce(el.textContent);
  }

  function setNet(text) {
    var el = $('net');
    el.textContent = text;
    el.hidden = !text;
  }

  // Puts messages on the page in id order, each once.
  function addMessages(c, list) {
    var incoming = [];
    var log = $('log');
    for (var i = 0; i < list.length; i++) {
      var m = list[i];
      if (typeof m.id !== 'number' || c.seen[m.id]) continue;
      c.seen[m.id] = true;
      var li = renderMessage(c, m);
      var next = null;
      for (var n = log.lastElementChild; n && Number(n.getAttribute('data-id')) > m.id; n = n.previousElementSibling) next = n;
      log.insertBefore(li, next);
      if (m.from !== 'visitor') incoming.push((m.from === 'agent' ? 'Message de l’équipe : ' : '') + m.text);
    }
    if (incoming.length) announce(incoming.join(' — '));
    if (incoming.length || list.length) {
      var last = log.lastElementChild;
      if (last && last.scrollIntoView && document.activeElement !== $('text')) last.scrollIntoView({ block: 'nearest' });
    }
  }

  function renderMessage(c, m) {
    var li = document.createElement('li');
    li.setAttribute('data-id', String(m.id));
    li.className = m.from === 'visitor' ? 'visitor' : m.from === 'agent' ? 'agent' : 'system';
    if (m.from !== 'system') {
      var who = document.createElement('p');
      who.className = 'who';
      who.textContent = (m.from === 'visitor' ? 'Vous' : (WHO[c.kind] || 'Équipe')) + clock(m.at);
      li.appendChild(who);
    }
    var txt = document.createElement('p');
    txt.className = 'txt';
    txt.textContent = String(m.text);
    li.appendChild(txt);
    return li;
  }

  function clock(at) {
    if (typeof at !== 'number') return '';
    var d = new Date(at * 1000);
    var mm = d.getMinutes();
    return ', ' + d.getHours() + ' h ' + (mm < 10 ? '0' : '') + mm;
  }

  /* ---------- the long-poll, with reconnection ---------- */

  function poll(c) {
    if (conv !== c) return;
    c.timer = null;
    var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    c.ctrl = ctrl;
    var began = Date.now();
    var deadline = setTimeout(function () { if (ctrl) ctrl.abort(); }, POLL_TIMEOUT_MS);
    api('GET', '/api/messages?after=' + c.lastId + '&wait=' + POLL_WAIT_S, null, c, ctrl).then(function (r) {
      clearTimeout(deadline);
      if (conv !== c) return;
      if (r.status === 200 && r.data) {
        c.failures = 0;
        setNet('');
        var list = r.data.messages || [];
        for (var i = 0; i < list.length; i++) if (list[i].id > c.lastId) c.lastId = list[i].id;
        addMessages(c, list);
        setState(c, r.data.state === 'closed' ? 'closed' : r.data.state === 'active' ? 'active' : 'waiting');
        if (c.state === 'closed') return;
        var quick = !list.length && Date.now() - began < POLL_MIN_GAP_MS;
        if (quick) c.timer = setTimeout(function () { poll(c); }, POLL_MIN_GAP_MS);
        else poll(c);
      } else if (r.status === 401) {
        setState(c, 'expired');
      } else {
        retry(c);
      }
    }, function () {
      clearTimeout(deadline);
      if (conv === c) retry(c);
    });
  }

  function retry(c) {
    c.failures += 1;
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, c.failures - 1));
    delay = Math.round(delay / 2 + Math.random() * delay / 2);
    if (c.failures > 1) {
      setNet('La connexion est interrompue. Nouvelle tentative dans ' + Math.ceil(delay / 1000) + ' s… Vos messages déjà envoyés sont conservés.');
    }
    c.timer = setTimeout(function () { poll(c); }, delay);
  }

  function stopPolling(c) {
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
    if (c.ctrl) c.ctrl.abort();
    c.ctrl = null;
  }

  // Back online: try now rather than at the end of the backoff.
  window.addEventListener('online', function () {
    var c = conv;
    if (c && c.timer && c.failures) { clearTimeout(c.timer); poll(c); }
  });

  /* ---------- sending ---------- */

  function send(e) {
    if (e) e.preventDefault();
    var c = conv;
    var area = $('text');
    var text = area.value;
    if (!c || c.sending) return;
    if (!text.trim()) {
      setError('text-error', 'Écrivez un message avant de l’envoyer.');
      area.focus();
      return;
    }
    setError('text-error', '');
    c.sending = true;
    api('POST', '/api/messages', { text: text }, c).then(function (r) {
      c.sending = false;
      if (conv !== c) return;
      if (r.status === 201 && r.data) {
        if (area.value === text) area.value = '';
        addMessages(c, [{ id: r.data.id, from: 'visitor', text: text, at: r.data.at }]);
      } else if (r.status === 401) {
        setState(c, 'expired');
      } else {
        setError('text-error', errorText(r, 'Le message n’est pas parti. Réessayez.'));
      }
    }, function () {
      c.sending = false;
      if (conv === c) setError('text-error', 'Le message n’est pas parti : la connexion est interrompue. Il est resté dans la case, réessayez dans un instant.');
    });
  }

  function onTextKey(e) {
    // Enter sends, Shift+Enter goes to the line; never while an IME composes.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) send(e);
  }

  /* ---------- finish and erase ---------- */

  function askEnd() {
    $('end-confirm').hidden = false;
    setError('end-error', '');
    $('end-question').focus();
  }

  function hideConfirm() {
    $('end-confirm').hidden = true;
    setError('end-error', '');
  }

  function erase() {
    var c = conv;
    if (!c) return;
    $('end-yes').disabled = true;
    api('DELETE', '/api/session', null, c).then(function (r) {
      $('end-yes').disabled = false;
      if (conv !== c) return;
      // 401: the server already forgot it (expired or ended).
      if (r.status === 204 || r.status === 401) {
        wipe();
        show('ended');
        $('ended-title').focus();
        announce($('ended-title').textContent);
      } else {
        setError('end-error', errorText(r, 'La conversation n’a pas pu être effacée. Réessayez.'));
      }
    }, function () {
      $('end-yes').disabled = false;
      if (conv === c) setError('end-error', 'La conversation n’a pas pu être effacée : la connexion est interrompue. Réessayez dans un instant.');
    });
  }

  // Drops the conversation from memory and from the page.
  function wipe() {
    var c = conv;
    conv = null;
    if (c) { stopPolling(c); c.token = null; c.seen = null; }
    $('log').textContent = '';
    $('text').value = '';
    $('unit-name').textContent = '';
    $('unit-kind').textContent = '';
    $('chat-state').textContent = '';
    $('live').textContent = '';
    setNet('');
    hideConfirm();
  }

  /* ---------- the quick exit ---------- */

  function leave(c, quick) {
    try {
      return fetch('/api/session/leave', {
        method: 'POST', keepalive: true, credentials: 'omit', cache: 'no-store',
        referrerPolicy: 'no-referrer',
        headers: { 'Authorization': 'Bearer ' + c.token, 'Content-Type': 'application/json' },
        body: JSON.stringify({ quick: quick })
      }).catch(function () {});
    } catch (err) {
      return null;
    }
  }

  // Empties the page at once and leaves one plain sheet in its place.
  function blank() {
    var body = document.body;
    if (body.getAttribute('data-blank')) return;
    body.textContent = '';
    body.setAttribute('data-blank', '1');
    var sheet = document.createElement('p');
    sheet.className = 'overlay';
    sheet.setAttribute('role', 'alert');
    body.appendChild(sheet);
    sheet.textContent = 'Chargement…';
  }

  function quickExit(e) {
    if (e) e.preventDefault();
    leaving = true;
    var c = conv;
    conv = null;
    var sent = null;
    if (c) {
      stopPolling(c);
      if (c.token) sent = leave(c, true);
      c.token = null;
      c.seen = null;
    }
    blank();
    if (sent && !hasKeepalive) {
      // Without keepalive the call may die with the page: give it a moment.
      var go = function () { location.replace(exitUrl); };
      setTimeout(go, SLOW_LEAVE_MS);
      sent.then(go, go);
    } else {
      location.replace(exitUrl);
    }
  }

  // Shift counts only when pressed and released alone, so that capitals,
  // Shift+Enter and Shift+Tab never do.
  var shift = { count: 0, alone: false, timer: null, clearTimer: null };

  function shiftDown(e) {
    if (e.key === 'Shift') {
      if (!e.repeat) shift.alone = true;
    } else {
      shift.alone = false;
      if (shift.count) shiftReset(true);
    }
  }

  function shiftUp(e) {
    if (e.key !== 'Shift' || !shift.alone || leaving) return;
    shift.alone = false;
    shift.count += 1;
    clearTimeout(shift.timer);
    clearTimeout(shift.clearTimer);
    if (shift.count >= SHIFT_PRESSES) {
      shift.count = 0;
      quickExit();
      return;
    }
    var left = SHIFT_PRESSES - shift.count;
    $('exit-status').textContent = 'Touche Maj : encore ' + left + ' fois pour quitter ce site.';
    showDots();
    shift.timer = setTimeout(function () { shiftReset(true); }, SHIFT_GAP_MS);
  }

  function shiftReset(say) {
    clearTimeout(shift.timer);
    var was = shift.count;
    shift.count = 0;
    shift.alone = false;
    showDots();
    if (say && was && !leaving) {
      var st = $('exit-status');
      st.textContent = 'Sortie rapide annulée.';
      shift.clearTimer = setTimeout(function () { if (!leaving) st.textContent = ''; }, 4000);
    }
  }

  function showDots() {
    var exit = $('exit');
    if (!exit) return;
    exit.className = shift.count ? 'exit counting' : 'exit';
    var dots = exit.querySelectorAll('.dots i');
    for (var i = 0; i < dots.length; i++) dots[i].className = i < shift.count ? 'on' : '';
  }

  // Leaving the page any other way (closing the tab, reloading, Back):
  // the token dies with the page, so tell the server and empty the page,
  // which may be kept in the back-forward cache.
  window.addEventListener('pagehide', function () {
    if (leaving) return;
    var c = conv;
    if (!c) return;
    conv = null;
    stopPolling(c);
    leave(c, false);
    c.token = null;
    wipe();
  });

  // Brought back from the back-forward cache: show nothing, leave again.
  window.addEventListener('pageshow', function (e) {
    if (e.persisted) quickExit();
  });

  /* ---------- wiring ---------- */

  var exits = document.querySelectorAll('a[data-exit]');
  for (var i = 0; i < exits.length; i++) exits[i].addEventListener('click', quickExit);
  document.addEventListener('keydown', shiftDown, true);
  document.addEventListener('keyup', shiftUp, true);
  document.addEventListener('mousedown', function () { shift.alone = false; }, true);

  $('start-form').addEventListener('submit', startSubmit);
  $('compose').addEventListener('submit', send);
  $('text').addEventListener('keydown', onTextKey);
  $('end').addEventListener('click', askEnd);
  $('end-no').addEventListener('click', function () { hideConfirm(); $('end').focus(); });
  $('end-yes').addEventListener('click', erase);
  $('again').addEventListener('click', function () {
    show('start');
    $('start-title').focus();
  });

  show('start');
}());
