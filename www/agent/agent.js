/*
 * abri — the operators' console.
 *
 * One long-poll per operator (GET /api/agent/events) carries the queue of
 * the operator's units and the messages of every conversation the operator
 * holds; everything on screen is drawn from its answers. Actions (claim,
 * reply, transfer, close) are plain calls carrying the CSRF value; their
 * effect comes back through the long-poll, which they wake at once.
 *
 * Messages are rendered with textContent, never as HTML. The CSRF value
 * lives in memory only (a reloaded console asks GET /api/agent/me for it);
 * the login itself is an HttpOnly cookie this script never sees. When the
 * login ends (logout, expiry, disabled account) every conversation is
 * removed from the page.
 */
(function () {
  'use strict';

  // Timings, in one place.
  var POLL_WAIT_S = 25;          // long-poll wait asked of the server (at most 30)
  var POLL_TIMEOUT_MS = 40000;   // a poll that outlives its wait is dead: abort it
  var BACKOFF_MIN_MS = 1000;     // first retry after a network failure
  var BACKOFF_MAX_MS = 30000;    // retries never wait longer than this
  var TICK_MS = 15000;           // waiting times are redrawn this often
  var MAX_TEXT = 2000;           // characters in a message (the contract)

  var BASE_TITLE = document.title;
  var ROLE = { victim: 'Victime', witness: 'Témoin' };
  var ALARM = /sortie rapide|quitté|expiré/;

  function $(id) { return document.getElementById(id); }

  // Everything the console knows. Reset by forget().
  //   csrf      the login's CSRF value (memory only)
  //   cursor    the long-poll cursor, null before the first answer
  //   units     every unit, for transfers: [{code, name, kind}]
  //   entries   queue entries on screen, by session: {li, base}
  //   waiting   sessions already announced as waiting
  //   panes     held conversations on screen, by session
  //   ctrl      AbortController of the running poll
  //   timer     pending poll or retry
  //   failures  consecutive failed polls, for the backoff
  //   generation bumped by forget(): late answers of an old login are dropped
  //   focusNext session whose pane takes the focus when it appears
  var st = null;
  var generation = 0;

  function fresh() {
    return {
      csrf: null, cursor: null, units: [], entries: new Map(), waiting: new Set(), panes: new Map(),
      ctrl: null, timer: null, failures: 0, focusNext: null, first: true
    };
  }

  /* ---------- small helpers ---------- */

  function setText(el, text) { el.textContent = text || ''; el.hidden = !text; }

  function announce(text) {
    var live = $('live');
    live.textContent = '';
    setTimeout(function () { live.textContent = text; }, 50);
  }

  function status(text) { setText($('status'), text); }

  function errorText(r, fallback) {
    return (r && r.data && r.data.error && r.data.error.message) || fallback;
  }

  function clock(at) {
    var d = new Date(at * 1000);
    return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
  }

  function duration(ms) {
    var min = Math.floor(ms / 60000);
    if (min < 1) return 'moins d’une minute';
    if (min < 60) return min + ' min';
    return Math.floor(min / 60) + ' h ' + String(min % 60).padStart(2, '0');
  }

  function codePoints(text) { return Array.from(text).length; }

  // One API call. Resolves to {status, data}; rejects on network failure.
  function api(method, path, body, ctrl) {
    var headers = {};
    if (body !== null && body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && st && st.csrf) headers['X-Abri-CSRF'] = st.csrf;
    var init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== null && body !== undefined) init.body = JSON.stringify(body);
    if (ctrl) init.signal = ctrl.signal;
    return fetch(path, init).then(function (res) {
      return res.text().then(function (t) {
        var data = null;
        try { data = t ? JSON.parse(t) : null; } catch (e) { data = null; }
        return { status: res.status, data: data };
      });
    });
  }

  function sessionPath(session, action) {
    return '/api/agent/sessions/' + encodeURIComponent(session) + '/' + action;
  }

  /* ---------- login and logout ---------- */

  function showLogin(notice) {
    $('desk').hidden = true;
    $('who').hidden = true;
    $('login').hidden = false;
    setText($('login-notice'), notice);
    document.title = BASE_TITLE;
    $('password').value = '';
    ($('username').value ? $('password') : $('username')).focus();
  }

  function loginSubmit(e) {
    e.preventDefault();
    var username = $('username').value.trim();
    var password = $('password').value;
    var button = $('login-form').querySelector('button');
    if (!username || !password) {
      setText($('login-error'), 'Indiquez votre identifiant et votre mot de passe.');
      (username ? $('password') : $('username')).focus();
      return;
    }
    setText($('login-error'), '');
    button.disabled = true;
    api('POST', '/api/agent/login', { username: username, password: password }).then(function (r) {
      button.disabled = false;
      if (r.status === 200) {
        $('password').value = '';
        enter(r.data);
        return;
      }
      setText($('login-error'), errorText(r, 'La connexion a échoué. Réessayez.'));
      $('password').value = '';
      $('password').focus();
    }, function () {
      button.disabled = false;
      setText($('login-error'), 'Impossible de joindre le service. Vérifiez la connexion et réessayez.');
    });
  }

  // Logged in: draw the desk and start the long-poll.
  function enter(data) {
    forget();
    st.csrf = data.csrf;
    $('login').hidden = true;
    $('desk').hidden = false;
    $('who').hidden = false;
    $('who-name').textContent = data.agent.username;
    var names = data.agent.units.map(function (u) { return u.name; });
    $('queue-units').textContent = names.length ? 'Vos équipes : ' + names.join(', ') + '.' :
      'Vous n’appartenez à aucune équipe : demandez à un administrateur de vous en ajouter une.';
    renderCounts();
    api('GET', '/api/agent/units').then(function (r) {
      if (r.status === 200 && st) {
        st.units = r.data.units;
        st.panes.forEach(fillUnits);
      }
    }, function () {});
    $('queue-title').focus();
    poll();
  }

  // Drops every conversation from the page and memory.
  function forget() {
    if (st) {
      if (st.ctrl) st.ctrl.abort();
      clearTimeout(st.timer);
    }
    generation += 1;
    st = fresh();
    $('queue').textContent = '';
    $('panes').textContent = '';
    status('');
  }

  // The login is gone (expired, disabled, logged out elsewhere).
  function expired() {
    forget();
    showLogin('Votre session a expiré ou a été fermée. Reconnectez-vous pour reprendre les conversations.');
  }

  function logout() {
    var done = function () { forget(); showLogin('Vous êtes déconnecté·e.'); };
    api('POST', '/api/agent/logout').then(done, done);
  }

  /* ---------- the long-poll ---------- */

  function poll() {
    var mine = generation;
    var ctrl = new AbortController();
    st.ctrl = ctrl;
    var killer = setTimeout(function () { ctrl.abort(); }, POLL_TIMEOUT_MS);
    // After a failure, ask for an answer at once: it tells that the
    // service is back (and clears the notice) without waiting for a change.
    var wait = st.failures > 0 ? 0 : POLL_WAIT_S;
    var query = (st.cursor === null ? '' : 'after=' + st.cursor + '&') + 'wait=' + wait;
    api('GET', '/api/agent/events?' + query, null, ctrl).then(function (r) {
      clearTimeout(killer);
      if (mine !== generation) return;
      if (r.status === 401) { expired(); return; }
      if (r.status !== 200 || !r.data) { retry(); return; }
      st.failures = 0;
      status('');
      apply(r.data);
      st.timer = setTimeout(poll, 0);
    }, function () {
      clearTimeout(killer);
      if (mine === generation) retry();
    });
  }

  function retry() {
    st.failures += 1;
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, st.failures - 1));
    status('Connexion au service perdue. Nouvelle tentative dans ' + Math.round(delay / 1000) + ' s…');
    st.timer = setTimeout(poll, delay);
  }

  // The browser says the network is gone: the running poll will not
  // answer, end it now so that the operator is told.
  function dropped() {
    if (st && st.ctrl) st.ctrl.abort();
  }

  function retryNow() {
    if (!st || st.csrf === null || st.failures === 0) return;
    clearTimeout(st.timer);
    poll();
  }

  function apply(data) {
    var now = Date.now();
    st.cursor = data.cursor;
    var queue = data.queue || [];
    renderQueue(queue.filter(function (e) { return !e.mine; }), now);
    var created = syncPanes(queue.filter(function (e) { return e.mine; }), now);
    (data.messages || []).forEach(function (m) {
      var pane = st.panes.get(m.session);
      if (pane) addMessage(pane, m, !created.has(m.session));
    });
    st.first = false;
    renderCounts();
  }

  /* ---------- the queue ---------- */

  function renderQueue(entries, now) {
    var list = $('queue');
    var keep = new Set(entries.map(function (e) { return e.session; }));
    st.entries.forEach(function (item, session) {
      if (!keep.has(session)) { item.li.remove(); st.entries.delete(session); }
    });
    var arrived = [];
    entries.forEach(function (e, index) {
      var item = st.entries.get(e.session);
      if (!item) {
        item = newEntry(e);
        st.entries.set(e.session, item);
      }
      if (list.children[index] !== item.li) list.insertBefore(item.li, list.children[index] || null);
      item.base = now - e.waiting * 1000;
      drawEntry(item, e);
      if (!st.waiting.has(e.session)) {
        st.waiting.add(e.session);
        if (!st.first) { item.li.classList.add('new'); arrived.push(e); }
      }
    });
    $('queue-empty').hidden = entries.length > 0;
    if (arrived.length === 1) {
      announce('Une personne attend : ' + ROLE[arrived[0].role].toLowerCase() + ', ' + arrived[0].unit.name + '.');
    } else if (arrived.length > 1) {
      announce(arrived.length + ' personnes de plus attendent.');
    }
  }

  function newEntry(e) {
    var li = $('queue-item').content.firstElementChild.cloneNode(true);
    li.querySelector('.pid').textContent = e.session;
    var button = li.querySelector('.claim');
    button.setAttribute('aria-label', 'Prendre en charge la conversation ' + e.session);
    button.addEventListener('click', function () { claim(e.session, li, button); });
    li.addEventListener('focusin', function () { li.classList.remove('new'); });
    li.addEventListener('click', function () { li.classList.remove('new'); });
    return { li: li, base: Date.now(), entry: e };
  }

  function drawEntry(item, e) {
    var li = item.li;
    item.entry = e;
    li.classList.toggle('victim', e.role === 'victim');
    li.querySelector('.role').textContent = ROLE[e.role] || e.role;
    li.querySelector('.unit').textContent = '— ' + e.unit.name;
    li.querySelector('.wait').textContent = 'attend depuis ' + duration(Date.now() - item.base);
    li.querySelector('.unread').textContent = e.unread === 0 ? 'aucun message' :
      e.unread === 1 ? '1 message non lu' : e.unread + ' messages non lus';
    var presence = li.querySelector('.presence');
    presence.textContent = e.connected ? 'connectée' : 'déconnectée';
    presence.classList.toggle('away', !e.connected);
  }

  function claim(session, li, button) {
    var error = li.querySelector('.error');
    setText(error, '');
    button.disabled = true;
    st.focusNext = session;
    api('POST', sessionPath(session, 'claim')).then(function (r) {
      button.disabled = false;
      if (r.status === 401) { expired(); return; }
      if (r.status === 200) { announce('Conversation ' + session + ' prise en charge.'); return; }
      st.focusNext = null;
      setText(error, errorText(r, 'La prise en charge a échoué.'));
    }, function () {
      button.disabled = false;
      st.focusNext = null;
      setText(error, 'Impossible de joindre le service. Réessayez.');
    });
  }

  /* ---------- held conversations ---------- */

  // Creates, updates and removes panes to match the held sessions.
  // Returns the sessions whose pane was created now.
  function syncPanes(entries, now) {
    var created = new Set();
    var keep = new Set();
    entries.forEach(function (e) {
      keep.add(e.session);
      var pane = st.panes.get(e.session);
      if (!pane) {
        pane = newPane(e);
        st.panes.set(e.session, pane);
        created.add(e.session);
      }
      drawPane(pane, e, now);
    });
    st.panes.forEach(function (pane, session) {
      if (!keep.has(session)) removePane(session, 'La conversation ' + session + ' n’est plus dans vos conversations.');
    });
    return created;
  }

  function newPane(e) {
    var el = $('pane').content.firstElementChild.cloneNode(true);
    var id = 'pane-' + e.session;
    var pane = {
      session: e.session, el: el, log: el.querySelector('.log'), seen: new Set(), connected: e.connected,
      drops: 0, state: e.state, textarea: el.querySelector('textarea'), pending: null
    };
    el.id = id;
    var title = el.querySelector('.pane-title');
    title.id = id + '-title';
    title.textContent = (ROLE[e.role] || e.role) + ' · ' + e.unit.name + ' · conversation ' + e.session;
    el.setAttribute('aria-labelledby', title.id);
    var label = el.querySelector('.compose .field');
    pane.textarea.id = id + '-text';
    label.htmlFor = pane.textarea.id;
    var hint = el.querySelector('.compose .hint');
    hint.id = id + '-hint';
    var error = el.querySelector('.compose .error');
    error.id = id + '-error';
    pane.textarea.setAttribute('aria-describedby', hint.id + ' ' + error.id);
    var select = el.querySelector('.transfer-unit');
    select.id = id + '-unit';
    el.querySelector('.transfer-box label').htmlFor = select.id;
    var exportLink = el.querySelector('.export');
    exportLink.href = sessionPath(e.session, 'export');
    exportLink.setAttribute('download', 'abri-' + e.session + '.txt');
    fillUnits(pane);

    el.querySelector('.compose').addEventListener('submit', function (ev) { ev.preventDefault(); send(pane); });
    pane.textarea.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(pane); }
    });
    el.addEventListener('focusin', function () { seenNow(pane); });
    el.addEventListener('click', function () { seenNow(pane); });
    el.querySelector('.close').addEventListener('click', function () { askClose(pane); });
    el.querySelector('.transfer').addEventListener('click', function () { askTransfer(pane); });
    el.querySelector('.confirm-no').addEventListener('click', function () { hideConfirm(pane, true); });
    el.querySelector('.confirm-yes').addEventListener('click', function () {
      var act = pane.pending;
      hideConfirm(pane, false);
      if (act) act();
    });
    $('panes').appendChild(el);
    if (st.focusNext === e.session) {
      st.focusNext = null;
      pane.textarea.focus();
    }
    return pane;
  }

  function fillUnits(pane) {
    var select = pane.el.querySelector('.transfer-unit');
    var chosen = select.value;
    select.textContent = '';
    var none = document.createElement('option');
    none.value = '';
    none.textContent = 'Choisir une équipe…';
    select.appendChild(none);
    st.units.forEach(function (u) {
      var option = document.createElement('option');
      option.value = u.code;
      option.textContent = u.name + ' (' + u.code + ')';
      select.appendChild(option);
    });
    select.value = chosen;
  }

  function drawPane(pane, e, now) {
    var presence = pane.el.querySelector('.presence');
    var drops = pane.el.querySelector('.drops');
    var gone = e.state === 'left';
    if (!gone && pane.connected && !e.connected) pane.drops += 1;
    pane.connected = e.connected;
    if (gone) {
      presence.textContent = e.quick_exit ? 'La personne est partie en urgence (sortie rapide).' : 'La personne est partie.';
    } else if (e.connected) {
      presence.textContent = 'Personne connectée.';
    } else {
      presence.textContent = 'Personne déconnectée (dernier signe à ' + clock(e.last_seen) + ').';
    }
    presence.classList.toggle('away', gone || !e.connected);
    drops.textContent = pane.drops ? 'Déconnexions depuis la prise en charge : ' + pane.drops + '.' : '';
    drops.classList.toggle('away', pane.drops > 0);
    if (gone !== (pane.state === 'left') || pane.el.dataset.drawn !== '1') {
      pane.el.dataset.drawn = '1';
      pane.el.classList.toggle('gone', gone);
      pane.textarea.disabled = gone;
      pane.el.querySelector('.compose button').disabled = gone;
      pane.el.querySelector('.transfer-box').hidden = gone;
      pane.el.querySelector('.close').textContent = gone ? 'Retirer' : 'Clore';
      setText(pane.el.querySelector('.pane-state'), gone ?
        'La personne a quitté la conversation : elle ne peut plus lire vos messages. Vous pouvez la relire et ' +
        'l’exporter pendant une heure au plus, puis elle disparaît.' : '');
    }
    pane.state = e.state;
  }

  // Adds a message in id order, once. `notify`: not part of a history
  // just loaded, so the operator is told.
  function addMessage(pane, m, notify) {
    if (pane.seen.has(m.id)) return;
    pane.seen.add(m.id);
    var li = document.createElement('li');
    li.className = m.from;
    li.dataset.id = String(m.id);
    if (m.from === 'system' && ALARM.test(m.text)) li.classList.add('alarm');
    if (m.from !== 'system') {
      var meta = document.createElement('p');
      meta.className = 'meta';
      meta.textContent = (m.from === 'visitor' ? 'Personne' : 'Équipe') + ' · ' + clock(m.at);
      li.appendChild(meta);
    }
    var txt = document.createElement('p');
    txt.className = 'txt';
    txt.textContent = m.from === 'system' ? clock(m.at) + ' — ' + m.text : m.text;
    li.appendChild(txt);
    var log = pane.log;
    var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    var next = null;
    for (var i = log.children.length - 1; i >= 0; i--) {
      if (Number(log.children[i].dataset.id) > m.id) next = log.children[i]; else break;
    }
    log.insertBefore(li, next);
    if (atBottom || !notify) log.scrollTop = log.scrollHeight;
    if (notify && m.from !== 'agent' && (document.hidden || !pane.el.contains(document.activeElement))) {
      pane.el.classList.add('attention');
      pane.attention = true;
      announce(m.from === 'visitor' ? 'Nouveau message dans la conversation ' + pane.session + '.' :
        'Conversation ' + pane.session + ' : ' + m.text);
    }
  }

  function seenNow(pane) {
    if (!pane.attention) return;
    pane.attention = false;
    pane.el.classList.remove('attention');
    renderCounts();
  }

  function removePane(session, why) {
    var pane = st.panes.get(session);
    if (!pane) return;
    var hadFocus = pane.el.contains(document.activeElement);
    pane.el.remove();
    st.panes.delete(session);
    if (why) announce(why);
    if (hadFocus) $('held-title').focus();
    renderCounts();
  }

  function send(pane) {
    var error = pane.el.querySelector('.compose .error');
    var text = pane.textarea.value;
    if (!text.trim()) { setText(error, 'Écrivez un message avant de l’envoyer.'); return; }
    if (codePoints(text.trim()) > MAX_TEXT) {
      setText(error, 'Le message est trop long (' + MAX_TEXT + ' caractères au plus).');
      return;
    }
    setText(error, '');
    var button = pane.el.querySelector('.compose button');
    if (button.disabled) return;
    button.disabled = true;
    api('POST', sessionPath(pane.session, 'messages'), { text: text }).then(function (r) {
      button.disabled = pane.state === 'left';
      if (r.status === 401) { expired(); return; }
      if (r.status === 201) {
        if (pane.textarea.value === text) pane.textarea.value = '';
        return;
      }
      setText(error, errorText(r, 'Le message n’a pas pu être envoyé.'));
    }, function () {
      button.disabled = false;
      setText(error, 'Le message n’est pas parti : vérifiez la connexion, puis renvoyez-le.');
    });
  }

  function askConfirm(pane, question, act) {
    var box = pane.el.querySelector('.confirm');
    pane.pending = act;
    pane.el.querySelector('.confirm-text').textContent = question;
    box.hidden = false;
    pane.el.querySelector('.confirm-yes').focus();
  }

  function hideConfirm(pane, refocus) {
    pane.pending = null;
    pane.el.querySelector('.confirm').hidden = true;
    if (refocus) pane.textarea.focus();
  }

  function paneError(pane, text) { setText(pane.el.querySelector('.pane-error'), text); }

  // Close or transfer: the pane goes as soon as the server agrees.
  function finish(pane, action, body, done) {
    paneError(pane, '');
    api('POST', sessionPath(pane.session, action), body).then(function (r) {
      if (r.status === 401) { expired(); return; }
      if (r.status === 200) { removePane(pane.session, done); return; }
      paneError(pane, errorText(r, 'L’action a échoué.'));
    }, function () {
      paneError(pane, 'Impossible de joindre le service. Réessayez.');
    });
  }

  function askClose(pane) {
    if (pane.state === 'left') {
      finish(pane, 'close', null, 'Conversation ' + pane.session + ' retirée.');
      return;
    }
    askConfirm(pane, 'Clore la conversation ' + pane.session + ' ? La personne verra que la conversation est terminée.',
      function () { finish(pane, 'close', null, 'Conversation ' + pane.session + ' close.'); });
  }

  function askTransfer(pane) {
    var select = pane.el.querySelector('.transfer-unit');
    if (!select.value) {
      paneError(pane, 'Choisissez l’équipe à qui transférer la conversation.');
      select.focus();
      return;
    }
    var name = select.options[select.selectedIndex].textContent;
    askConfirm(pane, 'Transférer la conversation ' + pane.session + ' à ' + name +
      ' ? Elle retournera dans la file d’attente de cette équipe.',
      function () { finish(pane, 'transfer', { unit: select.value }, 'Conversation ' + pane.session + ' transférée.'); });
  }

  /* ---------- counts, title, clock ---------- */

  function renderCounts() {
    if (!st) return;
    var waiting = st.entries.size;
    var unseen = 0;
    st.panes.forEach(function (p) { if (p.attention) unseen += 1; });
    var qc = $('queue-count');
    qc.textContent = String(waiting);
    qc.classList.toggle('hot', waiting > 0);
    qc.setAttribute('aria-label', waiting + (waiting > 1 ? ' personnes' : ' personne'));
    var hc = $('held-count');
    hc.textContent = String(st.panes.size);
    hc.classList.toggle('hot', unseen > 0);
    $('held-empty').hidden = st.panes.size > 0;
    var parts = [];
    if (waiting) parts.push(waiting + ' en attente');
    if (unseen) parts.push(unseen + (unseen > 1 ? ' nouveaux messages' : ' nouveau message'));
    document.title = (parts.length ? '(' + parts.join(', ') + ') ' : '') + BASE_TITLE;
  }

  function tick() {
    if (!st) return;
    st.entries.forEach(function (item) { drawEntry(item, item.entry); });
  }

  /* ---------- start ---------- */

  function boot() {
    st = fresh();
    $('login-form').addEventListener('submit', loginSubmit);
    $('logout').addEventListener('click', logout);
    window.addEventListener('online', retryNow);
    window.addEventListener('offline', dropped);
    setInterval(tick, TICK_MS);
    api('GET', '/api/agent/me').then(function (r) {
      if (r.status === 200) enter(r.data); else showLogin('');
    }, function () {
      showLogin('Impossible de joindre le service pour le moment. Vous pouvez réessayer de vous connecter.');
    });
  }

  boot();
})();
