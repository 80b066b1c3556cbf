/*
 * abri — the victims' page.
 *
 * One page, three steps (form, chat, erased) shown and hidden in place:
 * no navigation, no pushState, no hash, so the browser's history gains no
 * entry. Messages are rendered with textContent, never as HTML.
 *
 * What the browser keeps: the session token, and nothing else, in this
 * tab's sessionStorage, so that a reload or a tab the phone discarded
 * resumes the same conversation (GET /api/messages?after=0). No message
 * text is ever stored; no cookie, localStorage or IndexedDB is used. The
 * quick exit, "end and erase" and a dead token remove the token from
 * the tab before anything else; closing the tab drops it too.
 *
 * The quick exit (red link, skip link, or Shift pressed alone three times)
 * blanks the page, tells the server (keepalive), and replaces this page in
 * the history with the neutral site. See README.md, "The victims' page".
 *
 * Every visible word the script writes comes from WORDS (below), one file
 * per language. Plain ES5 on purpose: it must run on
 * old phones without a build step.
 */
(function () {
  'use strict';

  // Limits and timings, in one place.
  var POLL_WAIT_S = 25;          // long-poll wait asked of the server (contract: at most 30)
  var POLL_WAIT_OFF_DUTY_S = 10; // shorter while nobody is on duty: the notice leaves soon after someone is
  var POLL_TIMEOUT_MS = 40000;   // a poll that outlives its wait is dead: abort it
  var POLL_MIN_GAP_MS = 1000;    // an empty answer faster than this delays the next poll
  var BACKOFF_MIN_MS = 1000;     // first retry after a network failure
  var BACKOFF_MAX_MS = 4000;     // retries never wait longer: the page catches up in seconds
  var TICK_MS = 1000;            // the retry countdown counts in seconds
  var SHIFT_PRESSES = 3;         // Shift presses that trigger the quick exit
  var SHIFT_GAP_MS = 2000;       // longest pause between two of them
  var SLOW_LEAVE_MS = 400;       // without fetch keepalive, wait this long for the leave call
  var TOKEN_KEY = 'abri';        // the sessionStorage key of the token, the only thing kept
  var POSTCODE = /^[0-9]{5}$/;

  // The page's words, in its language: js/words-XX.js, generated from
  // www/lang/XX.txt by `make pages`, loaded just before this file. System
  // messages are worded from their `kind`, never from the server's French
  // text (used only for a kind this page does not know yet); the server's
  // errors likewise from their code.
  var WORDS = window.abriWords;
  var TYPING_SHOWN_MS = 5000;    // the team's "typing" shows this long after the last answer that said so
  var TYPING_EVERY_MS = 4000;    // the person's typing signal goes at most this often

  // Why the server refused a message, by its error code.
  var REFUSED = { invalid_text: 'text.long', too_many_messages: 'text.limit' };

  // WORDS[key], with {n} filled in.
  function word(key, n) {
    return (WORDS[key] || '').replace('{n}', String(n));
  }

  function $(id) { return document.getElementById(id); }

  var exitUrl = $('exit').href;   // configured in index.html, nowhere else
  var hasKeepalive = typeof Request === 'function' && 'keepalive' in Request.prototype;
  var leaving = false;            // the quick exit has started: nothing renders any more
  var sentCount = 0;              // makes each client_id of this tab unique

  // The one conversation, or null. Every field is dropped by wipe().
  //   token    bearer token (also in sessionStorage, see storeToken)
  //   kind     'police' | 'gendarmerie', of the unit answering now
  //   unitName name of the unit answering now
  //   lastId   highest message id received from the long-poll
  //   seen     ids already on the page (own messages arrive twice)
  //   state    'resuming' | 'waiting' | 'active' | 'closed' | 'expired'
  //   synced   the last poll succeeded: the next one may wait on the server
  //   onDuty   false when the server said nobody can answer now
  //   resumed  opened from a stored token, not from the form
  //   caughtUp the whole history is on the page
  //   ctrl     AbortController of the running poll
  //   timer    pending retry or poll timer
  //   retryAt  when the pending retry fires (for the countdown), or 0
  //   failures consecutive failed polls, for the backoff
  //   outbox   typed messages not yet acknowledged: {clientId, text, li}
  //   sending  a message or the danger flag is on its way (one at a time)
  //   dangerWanted the person asked for help and the server has not said yes yet
  //   typingTimer hides the team's "typing" when no answer said it again
  //   typedAt  when the person's last typing signal went
  var conv = null;
  var ticker = null;              // the countdown's interval
  var netNotice = '';             // the connection notice shown, without its countdown

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

  // One API call (js/net.js, shared with the console). Resolves to
  // {status, data}; rejects on a network failure or after `timeoutMs`.
  function api(method, path, body, c, ctrl, timeoutMs) {
    return abriNet.request(method, path, {
      body: body, headers: c ? { Authorization: 'Bearer ' + c.token } : {},
      credentials: 'omit', ctrl: ctrl, timeoutMs: timeoutMs
    });
  }

  /* ---------- the token kept in the tab ---------- */

  // sessionStorage belongs to this tab alone and dies with it. A browser
  // that refuses it (some private modes) simply does not resume.
  function storeToken(token) {
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* no resume */ }
  }

  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function forgetToken() {
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing kept */ }
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
    setError('role-error', role ? '' : word('role.missing'));
    if (!role) bad = true;
    if (!POSTCODE.test(postcode)) {
      showPostcodeError(word(postcode ? 'postcode.format' : 'postcode.missing'));
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
    var body = { postcode: postcode, role: role.value, lang: WORDS.lang };
    api('POST', '/api/session', body, null).then(function (r) {
      // Flooded: the server asks this device for a second of work (js/work.js), then once again.
      var work = r.status === 429 && r.data && r.data.error && r.data.error.work;
      if (!work || !window.abriWork) return r;
      setError('start-error', word('busy'));
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
        storeToken(r.data.token);
        openChat(r.data.token, false);
        takeNews(conv, r.data);
      } else if (r.data && r.data.error && r.data.error.code === 'invalid_postcode') {
        showPostcodeError(word('postcode.' + r.data.error.reason) || word('postcode.unknown'));
        input.focus();
      } else {
        setError('start-error', word('start.failed'));
      }
    }, function () {
      button.disabled = false;
      if (!leaving) setError('start-error', word('net.down'));
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

  // Shows the chat for `token`; `resumed` when it comes from the tab's
  // storage. The first poll (after=0, no wait) brings state, unit and history.
  function openChat(token, resumed) {
    conv = {
      token: token, kind: '', unitName: '', lastId: 0, seen: {}, state: '',
      synced: false, onDuty: true, resumed: resumed, caughtUp: false, ctrl: null, timer: null,
      retryAt: 0, failures: 0, outbox: [], sending: false, dangerWanted: false,
      typingTimer: null, typedAt: 0
    };
    resetForm();   // the postcode leaves the page too
    showUnit(conv, null);
    $('log').textContent = '';
    $('text').value = '';
    setError('text-error', '');
    setOnDuty(conv, true);
    setRole('');
    $('danger-advice').hidden = true;
    hideConfirm();
    show('chat');
    setState(conv, resumed ? 'resuming' : 'waiting');
    $('chat-title').focus();
    poll(conv);
  }

  // What every answer about the session says besides messages: the unit
  // answering now, whether anyone is on duty, the role, the danger flag.
  function takeNews(c, d) {
    if (conv !== c || !d) return;
    if (d.unit) showUnit(c, d.unit);
    if (typeof d.on_duty === 'boolean') setOnDuty(c, d.on_duty);
    if (d.role) setRole(d.role);
    if (d.danger === true && $('danger-advice').hidden) showDangerAdvice(false);
  }

  function showUnit(c, unit) {
    c.kind = (unit && unit.kind) || c.kind;
    c.unitName = (unit && unit.name) || c.unitName;
    $('unit-name').textContent = c.unitName || word('nearest');
    $('unit-kind').textContent = word('unit.' + c.kind);
  }

  function setOnDuty(c, onDuty) {
    c.onDuty = onDuty;
    $('off-duty').hidden = onDuty;
  }

  function setRole(role) {
    var intro = word('intro.' + role);
    var hint = word('hint.' + role);
    $('role-intro').textContent = intro;
    $('role-intro').hidden = !intro;
    $('role-hint').textContent = hint;
    $('role-hint').hidden = !hint;
  }

  function setState(c, state) {
    if (conv !== c || c.state === state) return;
    c.state = state;
    var over = state === 'closed' || state === 'expired';
    var el = $('chat-state');
    el.textContent = word('state.' + state);
    el.className = over ? 'state over' : 'state';
    $('compose').hidden = over;
    $('danger').hidden = over;
    $('end').textContent = word(over ? 'end.over' : 'end');
    if (over) { setNet(c, ''); stopPolling(c); showTyping(c, false); }
    announce(el.textContent);
  }

  // A dead token: forget it in the tab first, then say so.
  function expire(c) {
    if (conv !== c) return;
    forgetToken();
    if (c.resumed && !c.synced && !c.lastId) {
      // A reload found nothing to resume: back to the form.
      wipe();
      show('start');
      setError('start-error', word('resume.gone'));
      $('start-title').focus();
      return;
    }
    setState(c, 'expired');
  }

  // Puts messages from the server on the page in id order, each once.
  function addMessages(c, list, aloud) {
    var incoming = [];
    for (var i = 0; i < list.length; i++) {
      var m = list[i];
      if (typeof m.id !== 'number' || c.seen[m.id]) continue;
      c.seen[m.id] = true;
      placeMessage(renderMessage(c, m), m.id);
      if (m.from !== 'visitor') incoming.push((m.from === 'agent' ? word('from.team') + ' ' : '') + wordsOf(m));
    }
    if (aloud && incoming.length) announce(incoming.join(' — '));
    if (list.length) scrollToEnd();
  }

  // A message not yet acknowledged has no id: it sorts after every other.
  function idOf(li) {
    var id = li.getAttribute('data-id');
    return id === null ? Infinity : Number(id);
  }

  function placeMessage(li, id) {
    var log = $('log');
    var next = null;
    for (var n = log.lastElementChild; n && idOf(n) > id; n = n.previousElementSibling) next = n;
    if (id !== Infinity) li.setAttribute('data-id', String(id));
    log.insertBefore(li, next);
  }

  function scrollToEnd() {
    var last = $('log').lastElementChild;
    if (last && last.scrollIntoView && document.activeElement !== $('text')) last.scrollIntoView({ block: 'nearest' });
  }

  function wordsOf(m) {
    return (m.from === 'system' && word('system.' + m.kind)) || String(m.text);
  }

  function renderMessage(c, m) {
    var li = document.createElement('li');
    li.className = m.from === 'visitor' ? 'visitor' : m.from === 'agent' ? 'agent' : 'system';
    if (m.from !== 'system') {
      var who = document.createElement('p');
      who.className = 'who';
      li.appendChild(who);
      setWho(c, li, m.from, clock(m.at), m.author);
    }
    var txt = document.createElement('p');
    txt.className = 'txt';
    txt.dir = 'auto';   // a French reply on the Arabic page reads left to right, and the reverse
    txt.textContent = wordsOf(m);
    li.appendChild(txt);
    return li;
  }

  // `author`: the operator's name, when their unit chose to sign with it.
  function setWho(c, li, from, note, author) {
    var team = word('who.' + c.kind) || word('who.team');
    li.firstChild.textContent = (from === 'visitor' ? word('who.you') : author ? author + ' (' + team + ')' : team) + note;
  }

  function clock(at) {
    if (typeof at !== 'number') return '';
    var d = new Date(at * 1000);
    var mm = d.getMinutes();
    return ', ' + word('clock').replace('{h}', String(d.getHours())).replace('{m}', (mm < 10 ? '0' : '') + mm);
  }

  /* ---------- the long-poll, with reconnection ---------- */

  function poll(c) {
    if (conv !== c) return;
    c.timer = null;
    c.retryAt = 0;
    var ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    c.ctrl = ctrl;
    var began = Date.now();
    // After a failure or on opening, answer at once: the page must catch up now.
    var wait = !c.synced ? 0 : c.onDuty ? POLL_WAIT_S : POLL_WAIT_OFF_DUTY_S;
    var mine = function () { return conv === c && c.ctrl === ctrl; };
    // `typing`: what the page shows, so that a signal sent between two
    // polls is answered at once instead of waiting unseen.
    var typing = c.typingTimer ? 1 : 0;
    var path = '/api/messages?after=' + c.lastId + '&wait=' + wait + '&typing=' + typing;
    api('GET', path, null, c, ctrl, POLL_TIMEOUT_MS).then(function (r) {
      if (!mine()) return;
      c.ctrl = null;
      if (r.status === 200 && r.data) pollAnswered(c, r.data, began);
      else if (r.status === 401) expire(c);
      else retry(c);
    }, function () {
      if (!mine()) return;
      c.ctrl = null;
      retry(c);
    });
  }

  function pollAnswered(c, d, began) {
    var wasDown = !c.synced;
    c.failures = 0;
    c.synced = true;
    setNet(c, '');
    var list = d.messages || [];
    for (var i = 0; i < list.length; i++) if (list[i].id > c.lastId) c.lastId = list[i].id;
    takeNews(c, d);
    showTyping(c, d.typing === true && !list.some(function (m) { return m.from === 'agent'; }));
    setState(c, d.state === 'closed' ? 'closed' : d.state === 'active' ? 'active' : 'waiting');
    // A resumed page rebuilds its history without reading it all out.
    addMessages(c, list, !c.resumed || c.caughtUp);
    if (!d.more) c.caughtUp = true;
    flush(c);   // the network works: what waited goes now
    if (c.state === 'closed') return;
    var quick = !list.length && !d.more && Date.now() - began < POLL_MIN_GAP_MS && !wasDown;
    if (quick) c.timer = setTimeout(function () { poll(c); }, POLL_MIN_GAP_MS);
    else poll(c);
  }

  function retry(c) {
    c.failures += 1;
    c.synced = false;
    var delay = abriNet.delay(c.failures, BACKOFF_MIN_MS, BACKOFF_MAX_MS);
    c.retryAt = Date.now() + delay;
    c.timer = setTimeout(function () { poll(c); }, delay);
    // One failed poll may be a blip; offline or twice is an interruption.
    if (c.failures > 1 || navigator.onLine === false) setNet(c, word('net.lost'));
  }

  // Polls now, dropping a running poll or a pending retry.
  function pollNow(c) {
    if (!c || conv !== c || c.state === 'closed' || c.state === 'expired') return;
    stopPolling(c);
    c.synced = false;
    poll(c);
    flush(c);
  }

  function stopPolling(c) {
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
    c.retryAt = 0;
    if (c.ctrl) c.ctrl.abort();
    c.ctrl = null;
  }

  // The connection notice, with a countdown to the next try that counts.
  function setNet(c, text) {
    var was = netNotice;
    netNotice = text;
    $('net').hidden = !text;
    clearInterval(ticker);
    ticker = null;
    $('net-text').textContent = '';
    if (!text) return;
    if (!was) announce(text);
    countdown(c);
    ticker = setInterval(function () { countdown(c); }, TICK_MS);
  }

  function countdown(c) {
    var left = c && c.retryAt ? Math.ceil((c.retryAt - Date.now()) / 1000) : 0;
    $('net-text').textContent = netNotice + ' ' + (left > 0 ? word('retry.in', left) : word('retry.now'));
  }

  // The network changed: a running poll may hang on the old one, so it is
  // replaced. Back online, the page catches up now rather than at the end
  // of the backoff, and a try that still fails (the network not quite up)
  // is retried after the shortest delay; gone offline, the notice shows now.
  window.addEventListener('online', function () {
    if (conv) conv.failures = 0;
    pollNow(conv);
  });
  window.addEventListener('offline', function () { pollNow(conv); });

  /* ---------- typing, both ways (never the text) ---------- */

  // The team is typing: said in a polite live region, until an answer
  // without it or with the team's message (the server keeps saying it for
  // 5 s), or TYPING_SHOWN_MS after the last one with it (the end of the
  // team's typing does not wake a poll).
  function showTyping(c, on) {
    clearTimeout(c.typingTimer);
    c.typingTimer = on ? setTimeout(function () { showTyping(c, false); }, TYPING_SHOWN_MS) : null;
    var el = $('typing');
    var text = on && conv === c ? word('typing') : '';
    if (el.textContent !== text) el.textContent = text;
  }

  // The person is typing: the operator holding the conversation is told,
  // at most every TYPING_EVERY_MS (the server drops the others anyway).
  function typed() {
    var c = conv;
    if (!c || c.state !== 'active' || Date.now() - c.typedAt < TYPING_EVERY_MS) return;
    c.typedAt = Date.now();
    api('POST', '/api/session/typing', null, c).then(null, function () { /* a hint, not worth a retry */ });
  }

  /* ---------- sending: messages and the danger flag ---------- */

  function send(e) {
    if (e) e.preventDefault();
    var c = conv;
    var area = $('text');
    var text = area.value;
    if (!c) return;
    if (!text.trim()) {
      setError('text-error', word('text.empty'));
      area.focus();
      return;
    }
    setError('text-error', '');
    area.value = '';
    // The client_id is chosen now, once: every retry of this message carries
    // it, so the server stores it once however often the network fails.
    var item = { clientId: clientId(), text: text, li: renderMessage(c, { from: 'visitor', text: text }) };
    item.li.className = 'visitor pending';
    setWho(c, item.li, 'visitor', ' — ' + word('sending'));
    c.outbox.push(item);
    placeMessage(item.li, Infinity);
    scrollToEnd();
    flush(c);
  }

  function clientId() {
    sentCount += 1;
    return 'p' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10) + '-' + sentCount;
  }

  // Sends what waits, one call at a time, the danger flag first. Each item
  // stays until the server acknowledged it; a network failure leaves it
  // there, and the next successful poll or the `online` event calls again.
  function flush(c) {
    if (conv !== c || c.sending || c.state === 'closed' || c.state === 'expired') return;
    if (c.dangerWanted) sendDanger(c);
    else if (c.outbox.length) sendMessage(c, c.outbox[0]);
  }

  function sendMessage(c, item) {
    c.sending = true;
    api('POST', '/api/messages', { text: item.text, client_id: item.clientId }, c).then(function (r) {
      c.sending = false;
      if (conv !== c) return;
      if (r.status === 201 && r.data) {
        c.outbox.shift();
        acknowledged(c, item, r.data);
        flush(c);
      } else if (r.status === 401) {
        expire(c);
      } else if (r.status >= 500) {
        notYetSent(c, item);
      } else {
        refused(c, item, r);
      }
    }, function () {
      c.sending = false;
      if (conv === c) notYetSent(c, item);
    });
  }

  function acknowledged(c, item, d) {
    var li = item.li;
    li.parentNode.removeChild(li);
    if (c.seen[d.id]) return;   // the long-poll brought it first
    c.seen[d.id] = true;
    li.className = 'visitor';
    setWho(c, li, 'visitor', clock(d.at));
    placeMessage(li, d.id);
  }

  function notYetSent(c, item) {
    setWho(c, item.li, 'visitor', ' — ' + word('not.sent'));
  }

  // The server said no (too long, too fast, conversation closed): the text
  // goes back into the box with the reason, unless something new is there.
  function refused(c, item, r) {
    c.outbox.shift();
    item.li.parentNode.removeChild(item.li);
    var area = $('text');
    if (!area.value) area.value = item.text;
    setError('text-error', word(REFUSED[r.data && r.data.error && r.data.error.code] || 'text.refused'));
    flush(c);
  }

  function onTextKey(e) {
    // Enter sends, Shift+Enter goes to the line; never while an IME composes.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) send(e);
  }

  // The danger button: what to do is on screen at once, the
  // flag follows as soon as the network lets it.
  function danger() {
    var c = conv;
    if (!c) return;
    showDangerAdvice(true);
    c.dangerWanted = true;
    $('danger-status').textContent = '';
    flush(c);
  }

  function showDangerAdvice(focus) {
    $('danger-advice').hidden = false;
    if (focus) $('danger-title').focus();
  }

  function sendDanger(c) {
    c.sending = true;
    api('POST', '/api/session/danger', {}, c).then(function (r) {
      c.sending = false;
      if (conv !== c) return;
      if (r.status === 200) {
        c.dangerWanted = false;
        $('danger-status').textContent = word('danger.sent');
        flush(c);
      } else if (r.status === 401) {
        expire(c);
      } else {
        $('danger-status').textContent = word('danger.pending');
      }
    }, function () {
      c.sending = false;
      if (conv === c) $('danger-status').textContent = word('danger.pending');
    });
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
    forgetToken();   // first: from now on a reload shows the form
    $('end-yes').disabled = true;
    api('DELETE', '/api/session', null, c).then(function (r) {
      $('end-yes').disabled = false;
      if (conv !== c) return;
      // 401: the server already forgot it (expired or ended). 503
      // erase_pending: nobody can read it any more, the server's files are
      // scrubbed within moments; the page says so.
      var pending = r.status === 503 && r.data && r.data.error && r.data.error.code === 'erase_pending';
      if (r.status === 204 || r.status === 401 || pending) {
        wipe();
        show('ended');
        $('ended-server').hidden = pending;
        setError('ended-pending', pending ? word('erase.pending') : '');
        $('ended-title').focus();
        announce($('ended-title').textContent);
      } else {
        setError('end-error', word('erase.failed'));
      }
    }, function () {
      $('end-yes').disabled = false;
      if (conv === c) setError('end-error', word('erase.offline'));
    });
  }

  // Drops the conversation from memory and from the page.
  function wipe() {
    var c = conv;
    conv = null;
    if (c) { stopPolling(c); showTyping(c, false); c.token = null; c.seen = null; c.outbox = null; }
    $('log').textContent = '';
    $('text').value = '';
    $('unit-name').textContent = '';
    $('unit-kind').textContent = '';
    $('chat-state').textContent = '';
    $('danger-status').textContent = '';
    $('live').textContent = '';
    setNet(null, '');
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
    sheet.textContent = word('loading');
  }

  function quickExit(e) {
    if (e) e.preventDefault();
    forgetToken();   // first, whatever happens next
    leaving = true;
    var c = conv;
    conv = null;
    clearInterval(ticker);
    var sent = null;
    if (c) {
      stopPolling(c);
      if (c.token) sent = leave(c, true);
      c.token = null;
      c.seen = null;
      c.outbox = null;
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
    $('exit-status').textContent = word('shift.left', SHIFT_PRESSES - shift.count);
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
      st.textContent = word('shift.cancelled');
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

  // Leaving the page any other way (closing the tab, reloading, Back) does
  // not end the conversation: disconnection never does. The poll stops; a
  // page brought back from the back-forward cache catches up at once.
  window.addEventListener('pagehide', function () {
    if (conv && !leaving) stopPolling(conv);
  });
  window.addEventListener('pageshow', function (e) {
    if (e.persisted && !leaving) pollNow(conv);
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
  $('text').addEventListener('input', typed);
  $('danger').addEventListener('click', danger);
  $('net-retry').addEventListener('click', function () { pollNow(conv); });
  $('end').addEventListener('click', askEnd);
  $('end-no').addEventListener('click', function () { hideConfirm(); $('end').focus(); });
  $('end-yes').addEventListener('click', erase);
  $('again').addEventListener('click', function () {
    show('start');
    $('start-title').focus();
  });

  // A token kept in this tab: the conversation goes on where it was.
  if (storedToken()) openChat(storedToken(), true);
  else show('start');
}());
