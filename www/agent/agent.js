/*
 * abri — the operators' console.
 *
 * One long-poll per operator (GET /api/agent/events) carries the queue of
 * the operator's units and the messages of every conversation the operator
 * holds; everything on screen is drawn from its answers. Actions (claim,
 * reply, transfer, release, close, presence) are plain calls carrying the
 * CSRF value; their effect comes back through the long-poll.
 *
 * Nothing vanishes silently: a conversation that leaves the operator's
 * hands without the operator asking (erased by the person, ended
 * elsewhere) turns into a notice that stays until dismissed. System
 * messages are told apart by their `kind`, never by their French text.
 * A reply typed while the service is out of reach waits in memory with the
 * client_id chosen when it was typed, and is sent when the service is
 * back: the server stores it once however many times it is sent.
 *
 * The night shift: a chime (Web Audio, muted from the header) and, while
 * the tab is hidden, a desktop notification without the message's text
 * unless the operator chose it, for each new person and each message in a
 * held conversation; one or two held conversations on screen, chosen from
 * a row of buttons; canned replies picked from the reply box; internal
 * notes; "typing" sent at most every few seconds, never the draft. Every
 * call goes through www/js/net.js.
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
  var BACKOFF_MIN_MS = 500;      // first retry after a network failure
  var BACKOFF_MAX_MS = 3000;     // the console catches up within 3 s of the network coming back
  var TICK_MS = 15000;           // waiting times are redrawn this often
  var MAX_TEXT = 2000;           // characters in a message (the contract)
  var TYPING_EVERY_MS = 4000;    // "the team is typing" is sent at most this often (the server keeps 3 s)
  var TYPING_SHOWN_MS = 5000;    // "la personne écrit…" stays this long after the answer that said so
  var WIDE = '(min-width: 75rem)';   // wide enough for two conversations side by side

  var BASE_TITLE = document.title;
  var ROLE = { victim: 'Victime', witness: 'Témoin' };
  var LANG = {
    fr: 'français', en: 'anglais', ar: 'arabe', es: 'espagnol', pt: 'portugais',
    tr: 'turc', ro: 'roumain', ru: 'russe', uk: 'ukrainien', zh: 'chinois'
  };
  // What each kind of system message means here. `alarm`: shown in red and
  // announced at once. `gone`: how a conversation that left the operator's
  // hands after such a message is worded.
  var KINDS = {
    left: { alarm: true }, quick_exit: { alarm: true }, expired: { alarm: true },
    erased: { alarm: true }, danger: { alarm: true }, claimed: {},
    released: { gone: 'a été rendue à l’équipe : elle est de nouveau dans la file d’attente' },
    transferred: { gone: 'a été transférée à une autre équipe' },
    escalated: { gone: 'est passée à une autre équipe' },
    closed: { gone: 'a été close' }
  };

  function $(id) { return document.getElementById(id); }

  // Everything the console knows. Reset by forget().
  //   csrf      the login's CSRF value (memory only)
  //   cursor    the long-poll cursor, null before the first answer
  //   units     every unit, for transfers: [{code, name, kind}]
  //   unitNames the names of units by code (the operator's own and every unit)
  //   presence  the operator's presence as the server last said it
  //   presenceBusy a presence change is on its way: answers do not redraw the switch
  //   entries   queue entries on screen, by session: {li, base, entry}
  //   waitingTotal people waiting in the operator's units, listed or not
  //   waiting   sessions already announced as waiting
  //   panes     held conversations on screen, by session
  //   notices   notices that replaced a conversation, by session
  //   dismissed sessions whose notice the operator dismissed
  //   ctrl      AbortController of the running poll
  //   pollId    bumped by each poll: only the latest one's answer counts
  //   timer     pending poll or retry
  //   generation bumped by forget(): late answers of an old login are dropped
  //   focusNext session whose pane takes the focus when it appears
  //   shown     sessions whose pane is on screen, the latest chosen first
  //   replies   the canned replies of the operator's units: [{id, unit, title, text}], null until known
  var st = null;
  var generation = 0;
  var backoff = new abriNet.Backoff({ minMs: BACKOFF_MIN_MS, maxMs: BACKOFF_MAX_MS, countdown: countdown });

  function fresh() {
    return {
      csrf: null, shownAs: '', cursor: null, units: [], unitNames: new Map(), presence: null, presenceBusy: false,
      entries: new Map(), waitingTotal: 0, waiting: new Set(), panes: new Map(), notices: new Map(),
      dismissed: new Set(), ctrl: null, pollId: 0, timer: null,
      focusNext: null, first: true, shown: [], replies: null
    };
  }

  /* ---------- small helpers ---------- */

  function setText(el, text) { el.textContent = text || ''; el.hidden = !text; }

  // Says `text` to screen readers; `urgent` ones interrupt.
  function announce(text, urgent) {
    var live = $(urgent ? 'live-urgent' : 'live');
    live.textContent = '';
    setTimeout(function () { live.textContent = text; }, 50);
  }

  function inDanger(session) { return 'Conversation ' + session + ' : la personne est en danger maintenant.'; }

  // The language the person chose, as " · en anglais" ('' when not said).
  function langText(lang) { return lang ? ' · en ' + (LANG[lang] || lang) : ''; }

  // A random id for one typed reply (the contract: 1 to 64 of A-Z a-z 0-9 _ -).
  function newClientId() {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, '0'); }).join('');
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

  // One API call (www/js/net.js), with the CSRF value on every change.
  // Resolves to {status, data}; rejects on network failure.
  function api(method, path, body, opts) {
    var o = opts || {};
    o.body = body;
    if (method !== 'GET' && st && st.csrf) o.headers = { 'X-Abri-CSRF': st.csrf };
    return abriNet.request(method, path, o);
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
      setText($('login-error'), abriNet.errorMessage(r, 'La connexion a échoué. Réessayez.'));
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
    // One's own replies are named as the poll and the export name them.
    st.shownAs = data.agent.shown_as;
    data.agent.units.forEach(function (u) { st.unitNames.set(u.code, u.name); });
    $('no-units').hidden = data.agent.units.length > 0;
    renderCounts();
    drawNotifyChoice();
    askUntilAnswered('/api/agent/units', function (data) {
      st.units = data.units;
      st.units.forEach(function (u) { st.unitNames.set(u.code, u.name); });
      st.panes.forEach(fillUnits);
    });
    askUntilAnswered('/api/agent/replies', function (data) {
      st.replies = data.replies;
      st.panes.forEach(function (pane) {
        if (!pane.el.querySelector('.picker').hidden) drawPicks(pane, pane.active);
      });
    });
    $('queue-title').focus();
    poll();
  }

  // What the desk needs once per login (the units to transfer to, the
  // canned replies) is asked again while the network or the service fails
  // (5xx, 429): a blip at login must not cost the whole night's transfers
  // or replies. `take` gets the answer; a later login drops the asks of
  // this one.
  function askUntilAnswered(path, take) {
    var mine = generation;
    var failures = 0;
    (function ask() {
      if (mine !== generation) return;   // a retry's timer outlived its login
      var again = function () {
        failures += 1;
        setTimeout(ask, abriNet.delay(failures, BACKOFF_MIN_MS, BACKOFF_MAX_MS));
      };
      api('GET', path).then(function (r) {
        if (mine !== generation) return;
        if (r.status === 200 && r.data) take(r.data);
        else if (r.status >= 500 || r.status === 429) again();   // others will not change by asking (401: the poll ends the login)
      }, again);
    })();
  }

  // Drops every conversation from the page and memory.
  function forget() {
    if (st) {
      if (st.ctrl) st.ctrl.abort();
      clearTimeout(st.timer);
    }
    backoff.ok();
    generation += 1;
    st = fresh();
    $('queue').textContent = '';
    $('panes').textContent = '';
    $('notices').textContent = '';
    $('switcher').textContent = '';
    $('duty').textContent = '';
    // Until the first poll answers, the queue is not known: it is not said empty.
    $('queue-box').setAttribute('aria-busy', 'true');
    $('queue-empty').hidden = true;
    $('status').hidden = true;
    setText($('desk-error'), '');
  }

  // The login is gone (expired, disabled, logged out elsewhere).
  function expired() {
    forget();
    showLogin('Votre session a expiré ou a été fermée. Reconnectez-vous pour reprendre les conversations.');
  }

  // The server gives every held conversation back to its unit's queue:
  // the notice says so, so that nobody believes a chat stays waiting for them.
  function logout() {
    var held = 0;
    st.panes.forEach(function (p) { if (p.state !== 'left') held += 1; });
    var notice = 'Vous êtes déconnecté·e. ' + (held === 0 ? '' : held === 1 ?
      'La conversation que vous teniez est retournée dans la file de son équipe : un·e collègue peut la reprendre.' :
      'Les ' + held + ' conversations que vous teniez sont retournées dans la file de leur équipe : ' +
      'vos collègues peuvent les reprendre.');
    var done = function () { forget(); showLogin(notice); };
    api('POST', '/api/agent/logout').then(done, done);
  }

  /* ---------- alerts: a sound and desktop notifications ---------- */

  // The sound is made here (no file to fetch): a short two-note chime.
  // Browsers keep an AudioContext silent until the page had a gesture, so
  // it is made (or woken) at the first click or key press.
  // document.body.dataset.sounds and .notifications count what was given:
  // the browser tests read them.
  var audio = null;

  function wakeAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    if (audio && audio.state === 'suspended') audio.resume();
  }

  function chime() {
    if (!$('sound').checked || !audio) return;
    [880, 660].forEach(function (hz, i) {
      var at = audio.currentTime + i * 0.16;
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.15);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.16);
    });
    bump('sounds');
  }

  function bump(counter) {
    document.body.dataset[counter] = String(Number(document.body.dataset[counter] || 0) + 1);
  }

  // The mute switch is a preference of this browser, kept across logins.
  function soundChanged() {
    try { localStorage.setItem('abri-sound', $('sound').checked ? 'on' : 'off'); } catch (e) { /* kept for this page only */ }
  }

  function loadSoundChoice() {
    var saved = null;
    try { saved = localStorage.getItem('abri-sound'); } catch (e) { saved = null; }
    $('sound').checked = saved !== 'off';
  }

  // Desktop notifications are asked for from a button, never on load.
  function drawNotifyChoice() {
    var supported = 'Notification' in window;
    var permission = supported ? Notification.permission : 'denied';
    $('notify-ask').hidden = !supported || permission !== 'default';
    $('notify-text-box').hidden = permission !== 'granted';
    setText($('notify-state'), !supported ? 'Ce navigateur n’affiche pas de notifications.' :
      permission === 'denied' ? 'Notifications du bureau refusées : le son et le titre de l’onglet restent.' :
      permission === 'granted' ? 'Notifications du bureau activées quand la console est cachée.' : '');
  }

  function askNotify() {
    var asked = Notification.requestPermission(drawNotifyChoice);
    if (asked && asked.then) asked.then(drawNotifyChoice);
  }

  // A desktop notification while the console's tab is hidden. `text` (what
  // the person wrote) only when the operator chose it: a locked screen
  // shows notifications to whoever stands there.
  function desktopNotice(title, text, session) {
    if (!document.hidden || !('Notification' in window) || Notification.permission !== 'granted') return;
    var body = text && $('notify-text').checked ? text : 'Ouvrez la console abri pour lire.';
    var n = new Notification(title, { body: body, tag: 'abri-' + session, lang: 'fr' });
    n.onclick = function () { window.focus(); n.close(); };
    bump('notifications');
  }

  /* ---------- presence ---------- */

  function drawPresence(status) {
    if (!status || st.presenceBusy) return;
    st.presence = status;
    Array.prototype.forEach.call(document.querySelectorAll('#presence input'), function (input) {
      input.checked = input.value === status;
    });
    $('who').classList.toggle('is-away', status === 'away');
  }

  function choosePresence(ev) {
    var wanted = ev.target.value;
    var mine = generation;
    setText($('desk-error'), '');
    st.presenceBusy = true;
    var undo = function (text) {
      st.presenceBusy = false;
      drawPresence(st.presence);
      setText($('desk-error'), text);
    };
    api('PUT', '/api/agent/presence', { status: wanted }).then(function (r) {
      if (mine !== generation) return;
      if (r.status === 401) { expired(); return; }
      if (r.status !== 200) { undo(abriNet.errorMessage(r, 'Votre présence n’a pas pu être changée.')); return; }
      st.presenceBusy = false;
      drawPresence(r.data.status);
      announce(r.data.status === 'away' ? 'Vous êtes absent·e.' : 'Vous êtes disponible.');
      pollNow();   // the units' duty changes with it: show it now
    }, function () {
      if (mine === generation) undo('Impossible de joindre le service : votre présence n’a pas changé.');
    });
  }

  // Which of the operator's units has somebody on duty now, and who.
  function drawDuty(units) {
    var list = $('duty');
    list.textContent = '';
    units.forEach(function (u) {
      var li = document.createElement('li');
      li.dataset.code = u.code;
      li.className = u.on_duty ? 'on-duty' : 'off-duty';
      li.textContent = (st.unitNames.get(u.code) || u.code) + ' : ' +
        (u.on_duty ? 'de service : ' + (u.on_duty_names || []).join(', ') : 'personne de service');
      list.appendChild(li);
    });
  }

  /* ---------- the long-poll ---------- */

  function poll() {
    var mine = generation;
    st.pollId += 1;
    var id = st.pollId;
    var ctrl = new AbortController();
    st.ctrl = ctrl;
    // After a failure, ask for an answer at once: it tells that the
    // service is back (and clears the notice) without waiting for a change.
    var wait = backoff.failures > 0 ? 0 : POLL_WAIT_S;
    var query = (st.cursor === null ? '' : 'after=' + st.cursor + '&') + 'wait=' + wait;
    api('GET', '/api/agent/events?' + query, null, { ctrl: ctrl, timeoutMs: POLL_TIMEOUT_MS }).then(function (r) {
      if (mine !== generation || id !== st.pollId) return;
      if (r.status === 401) { expired(); return; }
      if (r.status !== 200 || !r.data) { retry(); return; }
      reconnected();
      apply(r.data);
      st.panes.forEach(flush);
      st.timer = setTimeout(poll, 0);
    }, function () {
      if (mine === generation && id === st.pollId) retry();
    });
  }

  function retry() {
    if (backoff.fail(poll) === 1) {
      $('status-text').textContent = 'Connexion au service perdue. Les réponses tapées entre-temps ' +
        'partiront à son retour.';
      $('status').hidden = false;
    }
  }

  // Counts the seconds to the next retry, for the eyes only (the status
  // line above it is announced once).
  function countdown(s) {
    $('countdown').textContent = s > 0 ? 'Nouvelle tentative dans ' + s + ' s.' : 'Nouvelle tentative en cours…';
  }

  function reconnected() {
    if (backoff.failures === 0) return;
    backoff.ok();
    $('status').hidden = true;
    announce('Connexion au service rétablie.');
  }

  // The browser says the network is gone: the running poll will not
  // answer, end it now so that the operator is told.
  function dropped() {
    if (st && st.ctrl) st.ctrl.abort();
  }

  // Polls at once, dropping the running poll or the pending retry: on
  // "Réessayer maintenant", and after a change the operator made here.
  // (When the network comes back, the backoff retries at once by itself.)
  function pollNow() {
    if (!st || st.csrf === null) return;
    clearTimeout(st.timer);
    backoff.stop();
    var running = st.ctrl;
    poll();
    if (running) running.abort();
  }

  function apply(data) {
    var now = Date.now();
    st.cursor = data.cursor;
    drawPresence(data.presence);
    drawDuty(data.units || []);
    (data.erased || []).forEach(function (session) {
      showNotice(session, 'La personne a effacé la conversation. Rien n’en reste, ni ici ni sur le serveur.');
    });
    var queue = data.queue || [];
    renderQueue(queue.filter(function (e) { return !e.mine; }), data.waiting_total, now);
    var created = syncPanes(queue.filter(function (e) { return e.mine; }), now);
    (data.messages || []).forEach(function (m) {
      var pane = st.panes.get(m.session);
      if (pane) addMessage(pane, m, !created.has(m.session));
    });
    st.first = false;
    renderCounts();
  }

  /* ---------- the queue ---------- */

  // `entries`: what the operator does not hold, in the server's order (in
  // danger first). `total`: how many people wait, listed or not.
  function renderQueue(entries, total, now) {
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
      if (e.danger && !item.entry.danger) announce(inDanger(e.session), true);
      drawEntry(item, e);
      if (e.state === 'waiting' && !st.waiting.has(e.session)) {
        st.waiting.add(e.session);
        if (!st.first) { item.li.classList.add('new'); arrived.push(e); }
      }
    });
    var listed = entries.filter(function (e) { return e.state === 'waiting'; }).length;
    st.waitingTotal = typeof total === 'number' ? total : listed;
    $('queue-empty').hidden = entries.length > 0 || st.waitingTotal > 0;
    $('queue-box').setAttribute('aria-busy', 'false');
    setText($('queue-more'), st.waitingTotal > listed ? st.waitingTotal + ' personnes en attente : les ' + listed +
      ' premières sont affichées, les autres apparaîtront à mesure.' : '');
    announceArrivals(arrived);
  }

  // Said to screen readers, chimed, and notified when the tab is hidden.
  function announceArrivals(arrived) {
    if (!arrived.length) return;
    var danger = arrived.some(function (e) { return e.danger; });
    var e = arrived[0];
    var text = arrived.length === 1 ?
      (danger ? 'Une personne en danger attend : ' : 'Une personne attend : ') +
        (ROLE[e.role] || e.role).toLowerCase() + ', ' + e.unit.name + '.' :
      arrived.length + ' personnes de plus attendent' + (danger ? ', dont au moins une en danger.' : '.');
    announce(text, danger);
    chime();
    desktopNotice(text, arrived.length === 1 ? e.preview : null, arrived.length === 1 ? e.session : 'queue');
  }

  function newEntry(e) {
    var li = $('queue-item').content.firstElementChild.cloneNode(true);
    li.querySelector('.pid').textContent = e.session;
    var button = li.querySelector('.claim');
    button.addEventListener('click', function () { claim(e.session, li, button); });
    li.addEventListener('focusin', function () { li.classList.remove('new'); });
    li.addEventListener('click', function () { li.classList.remove('new'); });
    return { li: li, base: Date.now(), entry: e };
  }

  function drawEntry(item, e) {
    var li = item.li;
    var left = e.state === 'left';
    item.entry = e;
    li.classList.toggle('victim', e.role === 'victim');
    li.classList.toggle('danger', e.danger === true);
    li.classList.toggle('left', left);
    li.querySelector('.danger-flag').hidden = !e.danger;
    li.querySelector('.left-note').hidden = !left;
    li.querySelector('.role').textContent = ROLE[e.role] || e.role;
    li.querySelector('.unit').textContent = '— ' + e.unit.name;
    li.querySelector('.lang').textContent = langText(e.lang);
    li.querySelector('.wait').textContent = left ? (e.ended_at ? 'partie à ' + clock(e.ended_at) : 'partie') :
      'attend depuis ' + duration(Date.now() - item.base);
    li.querySelector('.unread').textContent = e.unread === 0 ? 'aucun message' :
      e.unread === 1 ? '1 message non lu' : e.unread + ' messages non lus';
    var presence = li.querySelector('.presence');
    presence.textContent = left ? '' : e.connected ? ' · connectée' : ' · déconnectée';
    presence.classList.toggle('away', !left && !e.connected);
    li.querySelector('.answered').textContent = e.answered && !left ? ' · l’équipe lui a déjà répondu' : '';
    setText(li.querySelector('.preview'), e.preview ? '« ' + e.preview + ' »' : '');
    setText(li.querySelector('.handover'), e.handover ? 'Note de passation : ' + e.handover : '');
    var button = li.querySelector('.claim');
    button.textContent = left ? 'Lire ce qu’elle a écrit' : 'Prendre en charge';
    button.setAttribute('aria-label', (left ? 'Lire la conversation ' : 'Prendre en charge la conversation ') + e.session);
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
      setText(error, abriNet.errorMessage(r, 'La prise en charge a échoué.'));
    }, function () {
      button.disabled = false;
      st.focusNext = null;
      setText(error, 'Impossible de joindre le service. Réessayez.');
    });
  }

  /* ---------- held conversations ---------- */

  // Creates, updates and removes panes to match the held sessions. A pane
  // that goes without the operator asking becomes a notice: nothing
  // vanishes silently. Returns the sessions whose pane was created now.
  function syncPanes(entries, now) {
    var created = new Set();
    var keep = new Set();
    entries.forEach(function (e) {
      keep.add(e.session);
      var pane = st.panes.get(e.session);
      if (!pane) {
        dropNotice(e.session);   // it came back into the operator's hands
        st.dismissed.delete(e.session);
        pane = newPane(e);
        st.panes.set(e.session, pane);
        created.add(e.session);
      }
      drawPane(pane, e, now);
    });
    st.panes.forEach(function (pane, session) {
      if (keep.has(session)) return;
      if (pane.leaving) removePane(session, pane.leaving);
      else showNotice(session, endedText(pane));
    });
    if (st.focusNext !== null && created.has(st.focusNext)) {
      choose(st.focusNext, true);
      st.focusNext = null;
    } else {
      drawShown();
    }
    return created;
  }

  function endedText(pane) {
    var kind = KINDS[pane.lastKind];
    return 'La conversation ' + pane.session + ' ' + (kind && kind.gone ? kind.gone :
      'n’est plus entre vos mains : elle a pris fin ou a été reprise ailleurs') + '.';
  }

  // Puts a notice above the panes, instead of the pane of `session` if
  // there is one. The notice keeps nothing of the conversation
  // and stays until the operator dismisses it.
  function showNotice(session, text) {
    var el = st.notices.get(session);
    if (st.dismissed.has(session) || (el && el.querySelector('.notice-text').textContent === text)) return;
    if (!el) {
      el = $('notice').content.firstElementChild.cloneNode(true);
      el.id = 'notice-' + session;
      var title = el.querySelector('.pane-title');
      title.id = el.id + '-title';
      title.textContent = 'Conversation ' + session;
      el.setAttribute('aria-labelledby', title.id);
      el.querySelector('.dismiss').addEventListener('click', function () { dismissNotice(session); });
      st.notices.set(session, el);
    }
    el.querySelector('.notice-text').textContent = text;
    if (!el.isConnected) $('notices').appendChild(el);
    var pane = st.panes.get(session);
    if (pane) {
      var hadFocus = pane.el.contains(document.activeElement);
      dropPane(pane);
      if (hadFocus) el.querySelector('.pane-title').focus();
    }
    announce(text, true);
    renderCounts();
  }

  function dropNotice(session) {
    var el = st.notices.get(session);
    if (!el) return;
    el.remove();
    st.notices.delete(session);
  }

  function dismissNotice(session) {
    dropNotice(session);
    st.dismissed.add(session);
    $('held-title').focus();
    renderCounts();
  }

  // A held conversation on screen:
  //   seen      ids of the messages shown
  //   outbox    replies typed and not yet stored: [{clientId, text, li}], in order
  //   sending   the first of the outbox is on its way
  //   leaving   set while this console closes, transfers or releases it: the
  //             announcement to make when it goes (no notice then)
  //   lastKind  the kind of the last system message, to word its going
  //   pending   the action the confirmation box asks about
  //   tab       its button in the switcher
  //   typedAt   when "the team is typing" was last sent (ms)
  //   typingTimer hides "la personne écrit…" when no answer says it again
  //   picks     the canned replies the picker lists now
  function newPane(e) {
    var el = $('pane').content.firstElementChild.cloneNode(true);
    var id = 'pane-' + e.session;
    var pane = {
      session: e.session, el: el, log: el.querySelector('.log'), box: el.querySelector('.log-box'), seen: new Set(),
      connected: e.connected, drops: 0, state: e.state, textarea: el.querySelector('.compose textarea'), pending: null,
      outbox: [], sending: false, leaving: null, lastKind: null, danger: e.danger, tab: null, typedAt: 0,
      typingTimer: null, picks: []
    };
    el.id = id;
    var title = el.querySelector('.pane-title');
    title.id = id + '-title';
    title.textContent = (ROLE[e.role] || e.role) + ' · ' + e.unit.name + langText(e.lang) +
      ' · conversation ' + e.session;
    el.setAttribute('aria-labelledby', title.id);
    pane.box.setAttribute('aria-label', 'Messages de la conversation ' + e.session);
    labelled(el, '.compose .field', pane.textarea, id + '-text');
    var hint = el.querySelector('.compose .hint');
    hint.id = id + '-hint';
    var error = el.querySelector('.compose .error');
    error.id = id + '-error';
    pane.textarea.setAttribute('aria-describedby', hint.id + ' ' + error.id);
    labelled(el, '.unit-label', el.querySelector('.transfer-unit'), id + '-unit');
    labelled(el, '.handover-label', el.querySelector('.handover-text'), id + '-handover');
    labelled(el, '.note-form .field', el.querySelector('.note-form textarea'), id + '-note');
    labelled(el, '.picker .field', el.querySelector('.picker-filter'), id + '-filter');
    var listbox = el.querySelector('.picker-list');
    listbox.id = id + '-picks';
    listbox.setAttribute('aria-label', 'Réponses types');
    el.querySelector('.picker-filter').setAttribute('aria-controls', listbox.id);
    el.querySelector('.pick').setAttribute('aria-controls', listbox.id);
    var exportLink = el.querySelector('.export');
    // The transcript in this browser's time zone (minutes east of UTC).
    exportLink.href = sessionPath(e.session, 'export') + '?tz_offset=' + (-new Date().getTimezoneOffset());
    exportLink.setAttribute('download', 'abri-' + e.session + '.txt');
    fillUnits(pane);
    listen(pane);
    pane.tab = newTab(e);
    $('panes').appendChild(el);
    return pane;
  }

  // Gives `field` the id `id` and the label found by `selector` in `el`.
  function labelled(el, selector, field, id) {
    field.id = id;
    el.querySelector(selector).htmlFor = id;
  }

  function listen(pane) {
    var el = pane.el;
    el.querySelector('.compose').addEventListener('submit', function (ev) { ev.preventDefault(); send(pane); });
    pane.textarea.addEventListener('keydown', function (ev) {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(pane); }
      if (ev.key === '/' && !pane.textarea.value) { ev.preventDefault(); openPicker(pane); }
    });
    pane.textarea.addEventListener('input', function () { typing(pane); });
    el.querySelector('.pick').addEventListener('click', function () { openPicker(pane); });
    var filter = el.querySelector('.picker-filter');
    filter.addEventListener('input', function () { drawPicks(pane, 0); });
    filter.addEventListener('keydown', function (ev) { pickerKey(pane, ev); });
    el.querySelector('.note-form').addEventListener('submit', function (ev) { ev.preventDefault(); sendNote(pane); });
    el.addEventListener('focusin', function () { seenNow(pane); });
    el.addEventListener('click', function () { seenNow(pane); });
    el.querySelector('.close').addEventListener('click', function () { askClose(pane); });
    el.querySelector('.release').addEventListener('click', function () { release(pane); });
    el.querySelector('.transfer').addEventListener('click', function () { askTransfer(pane); });
    el.querySelector('.confirm-no').addEventListener('click', function () { hideConfirm(pane, true); });
    el.querySelector('.confirm-yes').addEventListener('click', function () {
      var act = pane.pending;
      hideConfirm(pane, false);
      if (act) act();
    });
  }

  /* ---------- which conversations are on screen ---------- */

  // Each held conversation has a button in the switcher; one pane is on
  // screen (two side by side when the window is wide), the latest chosen,
  // so that switching never means scrolling a long page.
  function newTab(e) {
    var li = document.createElement('li');
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'tab secondary small';
    button.textContent = (ROLE[e.role] || e.role) + ' · ' + e.session;
    button.addEventListener('click', function () { choose(e.session, true); });
    li.appendChild(button);
    $('switcher').appendChild(li);
    return button;
  }

  function room() { return window.matchMedia(WIDE).matches ? 2 : 1; }

  // Puts the pane of `session` on screen, first; `focus`: moves there.
  function choose(session, focus) {
    var pane = st.panes.get(session);
    if (!pane) return;
    st.shown = [session].concat(st.shown.filter(function (s) { return s !== session; }));
    drawShown();
    if (focus) (pane.state === 'left' ? pane.el.querySelector('.pane-title') : pane.textarea).focus();
  }

  // Shows the chosen panes, filling free room with the others.
  function drawShown() {
    st.shown = st.shown.filter(function (s) { return st.panes.has(s); });
    st.panes.forEach(function (pane, session) {
      if (st.shown.length < room() && st.shown.indexOf(session) < 0) st.shown.push(session);
    });
    st.shown = st.shown.slice(0, room());
    st.panes.forEach(function (pane, session) {
      var on = st.shown.indexOf(session) >= 0;
      pane.el.hidden = !on;
      if (on) pane.tab.setAttribute('aria-current', 'true'); else pane.tab.removeAttribute('aria-current');
    });
  }

  function drawTab(pane) {
    var e = pane.entry;
    pane.tab.textContent = (ROLE[e.role] || e.role) + ' · ' + pane.session +
      (pane.danger ? ' · en danger' : '') + (pane.attention ? ' · nouveau message' : '');
    pane.tab.classList.toggle('attention', pane.attention === true);
    pane.tab.classList.toggle('danger', pane.danger);
  }

  /* ---------- canned replies ---------- */

  function fold(text) { return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase(); }

  function openPicker(pane) {
    var picker = pane.el.querySelector('.picker');
    var filter = pane.el.querySelector('.picker-filter');
    picker.hidden = false;
    pane.el.querySelector('.pick').setAttribute('aria-expanded', 'true');
    filter.value = '';
    drawPicks(pane, 0);
    filter.focus();
  }

  function closePicker(pane) {
    pane.el.querySelector('.picker').hidden = true;
    pane.el.querySelector('.pick').setAttribute('aria-expanded', 'false');
    pane.textarea.focus();
  }

  // Lists the replies whose title or text holds what was typed, and marks
  // the `active`th one.
  function drawPicks(pane, active) {
    var words = fold(pane.el.querySelector('.picker-filter').value.trim());
    // The replies of the conversation's unit; all of them, named by unit,
    // when it has none.
    var replies = st.replies || [];
    var own = replies.filter(function (r) { return r.unit === pane.entry.unit.code; });
    var several = !own.length;
    pane.picks = (several ? replies : own).filter(function (r) { return fold(r.title + ' ' + r.text).indexOf(words) >= 0; });
    var list = pane.el.querySelector('.picker-list');
    list.textContent = '';
    pane.picks.forEach(function (r, i) {
      var li = document.createElement('li');
      li.id = list.id + '-' + i;
      li.setAttribute('role', 'option');
      var title = document.createElement('b');
      title.textContent = r.title + (several ? ' (' + (st.unitNames.get(r.unit) || r.unit) + ')' : '');
      var text = document.createElement('span');
      text.textContent = ' — ' + r.text;
      li.appendChild(title);
      li.appendChild(text);
      li.addEventListener('mousedown', function (ev) { ev.preventDefault(); });   // the filter keeps the focus
      li.addEventListener('click', function () { insertReply(pane, r); });
      list.appendChild(li);
    });
    // Not "none matches" while they are still asked for.
    pane.el.querySelector('.picker-empty').hidden = pane.picks.length > 0 || !st.replies;
    markPick(pane, Math.max(0, Math.min(active, pane.picks.length - 1)));
  }

  function markPick(pane, index) {
    var filter = pane.el.querySelector('.picker-filter');
    var options = pane.el.querySelectorAll('.picker-list [role="option"]');
    pane.active = index;
    Array.prototype.forEach.call(options, function (li, i) { li.setAttribute('aria-selected', String(i === index)); });
    if (options[index]) {
      filter.setAttribute('aria-activedescendant', options[index].id);
      options[index].scrollIntoView({ block: 'nearest' });
    } else {
      filter.removeAttribute('aria-activedescendant');
    }
  }

  function pickerKey(pane, ev) {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      var n = pane.picks.length;
      if (n) markPick(pane, (pane.active + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n);
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      if (pane.picks[pane.active]) insertReply(pane, pane.picks[pane.active]);
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      closePicker(pane);
    }
  }

  // The reply goes into the box where the cursor was, to be read and
  // changed before Enter sends it.
  function insertReply(pane, reply) {
    var box = pane.textarea;
    var at = box.selectionStart || 0;
    var end = box.selectionEnd || at;
    box.value = box.value.slice(0, at) + reply.text + box.value.slice(end);
    closePicker(pane);
    box.selectionStart = box.selectionEnd = at + reply.text.length;
    typing(pane);
  }

  /* ---------- typing, both ways ---------- */

  // Tells the person that the team is typing, at most every few seconds,
  // never what: the call has no body.
  function typing(pane) {
    var now = Date.now();
    if (!pane.textarea.value || now - pane.typedAt < TYPING_EVERY_MS) return;
    pane.typedAt = now;
    api('POST', sessionPath(pane.session, 'typing')).then(function () {}, function () {});
  }

  // "La personne écrit…" while the poll says so, and for TYPING_SHOWN_MS
  // after the last answer that said so (its end wakes no poll).
  function drawTyping(pane, on) {
    var line = pane.el.querySelector('.typing');
    clearTimeout(pane.typingTimer);
    line.hidden = !on;
    if (on) pane.typingTimer = setTimeout(function () { line.hidden = true; }, TYPING_SHOWN_MS);
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
    if (e.danger && !pane.danger) announce(inDanger(pane.session), true);
    pane.danger = e.danger === true;
    pane.el.classList.toggle('danger', pane.danger);
    pane.el.querySelector('.pane-head .danger-flag').hidden = !e.danger;
    if (gone !== (pane.state === 'left') || pane.el.dataset.drawn !== '1') {
      pane.el.dataset.drawn = '1';
      drawGone(pane, gone, e.answered);
    }
    pane.state = e.state;
    pane.entry = e;
    drawTyping(pane, e.typing === true && !gone);
    drawTab(pane);
  }

  // A person who left can no longer read anything: the pane is read only,
  // and "Retirer" lets the conversation go.
  function drawGone(pane, gone, answered) {
    pane.el.classList.toggle('gone', gone);
    pane.el.querySelector('.compose').hidden = gone;
    pane.el.querySelector('.transfer-box').hidden = gone;
    pane.el.querySelector('.release').hidden = gone;
    pane.el.querySelector('.close').textContent = gone ? 'Retirer' : 'Clore';
    setText(pane.el.querySelector('.pane-state'), !gone ? '' : answered ?
      'La personne a quitté la conversation : elle ne peut plus lire vos messages. Vous pouvez la relire et ' +
      'l’exporter pendant une heure au plus, puis elle disparaît.' :
      'La personne est partie avant toute réponse. Voici ce qu’elle a écrit, en lecture seule, pendant une ' +
      'heure au plus ; « Retirer » la laisse partir.');
  }

  // Adds a message in id order, once. `notify`: not part of a history
  // just loaded, so the operator is told.
  function addMessage(pane, m, notify) {
    if (pane.seen.has(m.id)) return;
    pane.seen.add(m.id);
    var li = document.createElement('li');
    li.className = m.from;
    li.dataset.id = String(m.id);
    var kind = m.from === 'system' ? KINDS[m.kind] || {} : null;
    if (kind) {
      li.dataset.kind = m.kind || '';
      pane.lastKind = m.kind;
      if (kind.alarm) li.classList.add('alarm');
    }
    if (m.from !== 'system') li.appendChild(meta(m.from, m.author, clock(m.at)));
    var txt = document.createElement('p');
    txt.className = 'txt';
    txt.textContent = m.from === 'system' ? clock(m.at) + ' — ' + m.text : m.text;
    li.appendChild(txt);
    var log = pane.log;
    var box = pane.box;
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    var next = null;
    // Replies not yet sent (no id) stay last.
    for (var i = log.children.length - 1; i >= 0; i--) {
      var other = log.children[i].dataset.id;
      if (other === undefined || Number(other) > m.id) next = log.children[i]; else break;
    }
    log.insertBefore(li, next);
    if (atBottom || !notify) pane.box.scrollTop = pane.box.scrollHeight;
    if (!notify || m.from === 'agent' || m.from === 'note') return;
    var alarm = kind && kind.alarm;
    if (!alarm && !document.hidden && pane.el.contains(document.activeElement)) return;
    pane.el.classList.add('attention');
    pane.attention = true;
    drawTab(pane);
    var said = m.from === 'visitor' ? 'Nouveau message dans la conversation ' + pane.session + '.' :
      'Conversation ' + pane.session + ' : ' + m.text;
    announce(said, alarm);
    if (m.from !== 'visitor' && !alarm) return;
    chime();
    // A system message's text is the service's wording, never the person's.
    desktopNotice(said, m.from === 'visitor' ? m.text : null, pane.session);
  }

  // The line above a message: who wrote it and when. Colleagues are named
  // (their display name); a note says it is internal.
  function meta(from, author, when) {
    var p = document.createElement('p');
    p.className = 'meta';
    p.textContent = (from === 'visitor' ? 'Personne' : from === 'note' ? 'Note interne' : 'Équipe') +
      (author ? ' (' + author + ')' : '') + ' · ' + when;
    return p;
  }

  function seenNow(pane) {
    if (!pane.attention) return;
    pane.attention = false;
    pane.el.classList.remove('attention');
    drawTab(pane);
    renderCounts();
  }

  function dropPane(pane) {
    pane.el.remove();
    pane.tab.parentNode.remove();
    clearTimeout(pane.typingTimer);
    st.panes.delete(pane.session);
    drawShown();
  }

  function removePane(session, why) {
    var pane = st.panes.get(session);
    if (!pane) return;
    var hadFocus = pane.el.contains(document.activeElement);
    dropPane(pane);
    if (why) announce(why);
    if (hadFocus) $('held-title').focus();
    renderCounts();
  }

  // A typed reply gets its client_id now and waits in the outbox, shown
  // as not yet sent, until the server has stored it.
  function send(pane) {
    var error = pane.el.querySelector('.compose .error');
    var text = pane.textarea.value;
    if (!text.trim()) { setText(error, 'Écrivez un message avant de l’envoyer.'); return; }
    if (codePoints(text.trim()) > MAX_TEXT) {
      setText(error, 'Le message est trop long (' + MAX_TEXT + ' caractères au plus).');
      return;
    }
    setText(error, '');
    pane.outbox.push({ clientId: newClientId(), text: text, li: unsentItem(pane, text) });
    pane.textarea.value = '';
    flush(pane);
  }

  function unsentItem(pane, text) {
    var li = document.createElement('li');
    li.className = 'agent unsent';
    var txt = document.createElement('p');
    txt.className = 'txt';
    txt.textContent = text;
    li.appendChild(meta('agent', null, 'pas encore envoyé'));
    li.appendChild(txt);
    pane.log.appendChild(li);
    pane.box.scrollTop = pane.box.scrollHeight;
    return li;
  }

  // Sends the pane's replies one at a time, in the order typed, while the
  // service answers; called again after each poll that succeeds. A reply
  // that met a network failure is sent again with the same client_id: the
  // server stores it once.
  function flush(pane) {
    if (pane.sending || !pane.outbox.length || backoff.failures > 0) return;
    var reply = pane.outbox[0];
    var mine = generation;
    pane.sending = true;
    api('POST', sessionPath(pane.session, 'messages'), { text: reply.text, client_id: reply.clientId }).then(function (r) {
      if (mine !== generation) return;
      pane.sending = false;
      if (r.status === 401) { expired(); return; }
      pane.outbox.shift();
      reply.li.remove();
      if (r.status === 201) {
        addMessage(pane, { id: r.data.id, from: 'agent', text: reply.text, at: r.data.at, author: st.shownAs }, false);
      } else {
        setText(pane.el.querySelector('.compose .error'), abriNet.errorMessage(r, 'Le message n’a pas pu être envoyé.'));
        if (!pane.textarea.value) pane.textarea.value = reply.text;
      }
      flush(pane);
    }, function () {
      if (mine !== generation) return;
      pane.sending = false;
      dropped();   // the connection is in doubt: the poll finds out, and flushes once it answers
    });
  }

  // An internal note: stored at once, shown when the poll brings it back
  // (with its author, as colleagues see it). Never sent to the person.
  function sendNote(pane) {
    var form = pane.el.querySelector('.note-form');
    var box = form.querySelector('textarea');
    var error = form.querySelector('.error');
    var text = box.value.trim();
    if (!text) { setText(error, 'Écrivez la note avant de l’ajouter.'); box.focus(); return; }
    setText(error, '');
    api('POST', sessionPath(pane.session, 'notes'), { text: text }).then(function (r) {
      if (r.status === 401) { expired(); return; }
      if (r.status === 201) { box.value = ''; announce('Note interne ajoutée.'); return; }
      setText(error, abriNet.errorMessage(r, 'La note n’a pas pu être ajoutée.'));
    }, function () {
      setText(error, 'Impossible de joindre le service : la note n’est pas ajoutée. Réessayez.');
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

  // Close, transfer or release: the pane goes as soon as the server agrees
  // (or the poll no longer lists it), with `done` announced.
  function finish(pane, action, body, done) {
    paneError(pane, '');
    pane.leaving = done;
    api('POST', sessionPath(pane.session, action), body).then(function (r) {
      if (r.status === 401) { expired(); return; }
      if (r.status === 200) { removePane(pane.session, done); return; }
      pane.leaving = null;
      paneError(pane, abriNet.errorMessage(r, 'L’action a échoué.'));
    }, function () {
      pane.leaving = null;
      paneError(pane, 'Impossible de joindre le service. Réessayez.');
    });
  }

  function release(pane) {
    finish(pane, 'release', null, 'Conversation ' + pane.session +
      ' rendue à l’équipe : elle est de nouveau dans la file d’attente.');
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
    var note = pane.el.querySelector('.handover-text').value.trim();
    var body = { unit: select.value };
    if (note) body.note = note;
    askConfirm(pane, 'Transférer la conversation ' + pane.session + ' à ' + name +
      (note ? ', avec la note de passation,' : '') + ' ? Elle retournera dans la file d’attente de cette équipe.',
      function () { finish(pane, 'transfer', body, 'Conversation ' + pane.session + ' transférée.'); });
  }

  /* ---------- counts, title, clock ---------- */

  function renderCounts() {
    if (!st) return;
    var waiting = st.waitingTotal;
    var unseen = 0;
    st.panes.forEach(function (p) { if (p.attention) unseen += 1; });
    var qc = $('queue-count');
    qc.textContent = String(waiting);
    qc.classList.toggle('hot', waiting > 0);
    qc.setAttribute('aria-label', waiting + (waiting > 1 ? ' personnes' : ' personne'));
    var hc = $('held-count');
    hc.textContent = String(st.panes.size);
    hc.classList.toggle('hot', unseen > 0);
    $('held-empty').hidden = st.panes.size + st.notices.size > 0;
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
    $('retry-now').addEventListener('click', pollNow);
    $('presence').addEventListener('change', choosePresence);
    $('sound').addEventListener('change', soundChanged);
    $('notify-ask').addEventListener('click', askNotify);
    document.addEventListener('pointerdown', wakeAudio);
    document.addEventListener('keydown', wakeAudio);
    window.matchMedia(WIDE).addListener(function () { if (st) drawShown(); });
    loadSoundChoice();
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
