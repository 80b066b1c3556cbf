// Browser tests of the victims' page (www/index.html), against the real stack.
//
//   ABRI_URL=http://127.0.0.1:PORT/ ABRI_AGENT_USER=... ABRI_AGENT_PASSWORD=... node run.mjs
//
// Environment (read in _lib.mjs, except ABRI_EXIT_URL):
//   ABRI_URL             base URL of a running stack (deploy/dev/stack.sh); required
//   ABRI_EXIT_URL        where the quick exit must land; this runner serves that
//                        stand-in page itself on its loopback port (default: a free port)
//   ABRI_AGENT_USER, ABRI_AGENT_PASSWORD
//                        an operator of the unit that ABRI_TEST_POSTCODE routes to
//   ABRI_TEST_POSTCODE   postcode used for the chats (default 75011)
//   ABRI_CHROMIUM        browser binary (default /usr/bin/chromium)
//   ABRI_TEST_ONLY       run only the tests whose name contains this text
//
// The page's configured exit address (the href of its data-exit links) is
// replaced by ABRI_EXIT_URL as the page is served to the browser, exactly as
// an admin would edit it, so that no request ever leaves the machine: any
// request to a host other than the stack and the stand-in is recorded and
// aborted, and a test at the end fails if there was one.
//
// Prints one line per test, then "N passed, N failed"; exits 1 on failure.
// Screenshots go to var/screenshots/ at the root of the repository.

import http from 'node:http';
import {
  BASE, POSTCODE, STEP_MS, Operator,
  api, axe, browser, check, firstLoad, hidden, runTests, shotPath, test, timeCatchUp, together, visible, waitText,
} from './_lib.mjs';

if (!BASE) {
  console.error('run.mjs: set ABRI_URL to the base URL of a running stack (deploy/dev/stack.sh)');
  process.exit(2);
}
const base = new URL(BASE);

/* ---------- the neutral page stand-in, on its own loopback port ---------- */

async function startStandIn() {
  const wanted = process.env.ABRI_EXIT_URL ? new URL(process.env.ABRI_EXIT_URL) : null;
  if (wanted && !['127.0.0.1', 'localhost', '[::1]'].includes(wanted.hostname)) {
    throw new Error('ABRI_EXIT_URL must be a loopback address: the runner serves it');
  }
  const server = http.createServer(async (req, res) => {
    const start = req.url.startsWith('/start');
    if (!start && standIn && standIn.noContent) {
      // 204 to a navigation: the browser stays on the page it was leaving.
      standIn.noContent = false;
      res.writeHead(204);
      return res.end();
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>${start ? 'Avant' : 'Météo'}</title></head>` +
      `<body><h1>${start ? 'Une page visitée avant' : 'Prévisions météo'}</h1></body></html>`);
  });
  const host = wanted ? wanted.hostname.replace(/^\[|\]$/g, '') : '127.0.0.1';
  await new Promise((ok, ko) => { server.once('error', ko); server.listen(wanted ? Number(wanted.port || 80) : 0, host, ok); });
  const exitUrl = wanted ? wanted.href : `http://127.0.0.1:${server.address().port}/meteo`;
  const origin = new URL(exitUrl).origin;
  return { server, exitUrl, startUrl: origin + '/start', host: new URL(exitUrl).host };
}

/* ---------- pages ---------- */

const foreign = [];   // requests to another host, from every test
let requestsSeen = 0;
let standIn;
let configuredExit = null;   // the exit address written in www/index.html

function allowedHost(u) {
  try { const h = new URL(u); return h.protocol === 'data:' || h.host === base.host || h.host === standIn.host; }
  catch { return false; }
}
function isPage(u) {
  const p = new URL(u);
  return p.host === base.host && (p.pathname === base.pathname || p.pathname === base.pathname + 'index.html');
}

// A fresh context: the page's exit address replaced by the stand-in,
// every request counted, those to another host recorded and aborted.
async function newContext(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  context.on('request', (req) => {
    requestsSeen += 1;
    if (!allowedHost(req.url()) && !req.url().startsWith('tel:') && !req.url().startsWith('sms:')) foreign.push(req.url());
  });
  await context.route((u) => !allowedHost(u.href) || isPage(u.href), async (route) => {
    const u = route.request().url();
    if (!allowedHost(u)) return route.abort('blockedbyclient');
    try {
      const res = await route.fetch();
      let body = await res.text();
      const m = /href="([^"]+)" data-exit/.exec(body);
      if (m) {
        configuredExit = m[1];
        body = body.split(m[1]).join(standIn.exitUrl);
      }
      await route.fulfill({ response: res, body });
    } catch {
      await route.abort('connectionfailed').catch(() => {});
    }
  });
  return context;
}

async function newPage(options) {
  const context = await newContext(options);
  const page = await context.newPage();
  page.cspErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) page.cspErrors.push(msg.text());
  });
  return page;
}

async function textOf(page, selector) { return (await page.locator(selector).textContent()) || ''; }

async function shots(page, name) {
  const size = page.viewportSize();
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: width === 360 ? 740 : 800 });
    await page.screenshot({ path: shotPath(`${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize(size);
}

async function openPage(page) {
  await page.goto(BASE);
  await visible(page.locator('#start'), 'the form');
}

// Fills the form and waits for the chat. Returns {session, token}.
async function startChat(page, { role = 'victim', postcode = POSTCODE } = {}) {
  await page.check(`input[name="role"][value="${role}"]`);
  await page.fill('#postcode', postcode);
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/session' && r.request().method() === 'POST');
  await page.click('#start-form button[type="submit"]');
  const res = await answer;
  check(res.status() === 201, `POST /api/session answered ${res.status()}: ${await res.text()}`);
  const data = await res.json();
  await visible(page.locator('#chat'), 'the chat');
  return { session: data.session, token: data.token, unit: data.unit };
}

async function chatWithOperator(page) {
  const op = await new Operator().login();
  await openPage(page);
  const s = await startChat(page);
  await op.claim(s.session);
  await waitText(page.locator('#chat-state'), /en ligne/, 'the active state');
  return { op, ...s };
}

async function landedOnNeutral(page) {
  await page.waitForURL(standIn.exitUrl, { timeout: STEP_MS }).catch(() => {
    throw new Error(`did not land on the neutral page, at ${page.url()}`);
  });
}

/* ---------- the tests ---------- */

test('page_is_served_with_strict_headers', async () => {
  const res = await fetch(BASE);
  check(res.status === 200, `GET / answered ${res.status}`);
  const csp = res.headers.get('content-security-policy') || '';
  check(/default-src 'none'/.test(csp) && /script-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), `CSP: ${csp}`);
  check(/no-store/.test(res.headers.get('cache-control') || ''), 'Cache-Control lacks no-store');
  check(res.headers.get('referrer-policy') === 'no-referrer', 'Referrer-Policy is not no-referrer');
  check(res.headers.get('x-content-type-options') === 'nosniff', 'X-Content-Type-Options is not nosniff');
});

// Bytes as transferred, compressed by nginx as browsers ask (firstLoad);
// the browser must load nothing that list misses.
test('page_and_all_it_loads_weigh_under_50_kb', async () => {
  const page = await newPage();
  const loaded = [];
  page.on('response', (r) => loaded.push(r.url()));
  await openPage(page);
  await page.waitForLoadState('networkidle');
  const { total, parts } = await firstLoad(BASE);
  const counted = parts.map(([u]) => u);
  check(loaded.every((u) => counted.includes(u)), `loaded but not counted: ${loaded.filter((u) => !counted.includes(u)).join(', ')}`);
  check(total < 50 * 1024, `${total} bytes: ${parts.map(([u, n]) => `${u} ${n}`).join(', ')}`);
  await page.context().close();
});

test('page_has_no_inline_script_or_style_and_no_csp_violation', async () => {
  const page = await newPage();
  await openPage(page);
  const inline = await page.evaluate(() => ({
    scripts: [...document.scripts].filter((s) => !s.src).length,
    styles: document.querySelectorAll('style, [style]').length,
    handlers: [...document.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length,
  }));
  check(!inline.scripts && !inline.styles && !inline.handlers, `inline code: ${JSON.stringify(inline)}`);
  check(!page.cspErrors.length, page.cspErrors.join('; '));
  await page.context().close();
});

test('skip_link_is_first_focusable_and_leaves', async () => {
  const page = await newPage();
  await openPage(page);
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => ({ cls: document.activeElement.className, href: document.activeElement.href, text: document.activeElement.textContent }));
  check(first.cls === 'skip', `first focus is ${JSON.stringify(first)}`);
  check(first.href === standIn.exitUrl, `skip link goes to ${first.href}`);
  check(await page.locator('.skip').isVisible(), 'the focused skip link is not visible');
  await page.keyboard.press('Enter');
  await landedOnNeutral(page);
  await page.context().close();
});

test('empty_form_says_what_is_missing', async () => {
  const page = await newPage();
  await openPage(page);
  await page.click('#start-form button[type="submit"]');
  await visible(page.locator('#role-error'), 'the role error');
  await visible(page.locator('#postcode-error'), 'the postcode error');
  check(await page.isVisible('#start'), 'the form went away');
  await page.context().close();
});

test('malformed_postcode_gets_a_clear_message_without_a_request', async () => {
  const page = await newPage();
  let posted = 0;
  page.on('request', (r) => { if (r.url().endsWith('/api/session')) posted += 1; });
  await openPage(page);
  await page.check('input[name="role"][value="victim"]');
  for (const bad of ['7501', '750111', 'abcde']) {
    await page.fill('#postcode', bad);
    await page.click('#start-form button[type="submit"]');
    await waitText(page.locator('#postcode-error'), /5 chiffres/, `postcode ${bad}`);
    check(await page.getAttribute('#postcode', 'aria-invalid') === 'true', 'the field is not marked invalid');
    check(await page.evaluate(() => document.activeElement.id) === 'postcode', 'focus is not on the postcode');
  }
  check(posted === 0, `${posted} requests went to /api/session`);
  await page.context().close();
});

test('postcode_refused_by_server_gets_its_message', async () => {
  const page = await newPage();
  await openPage(page);
  await page.check('input[name="role"][value="witness"]');
  for (const bad of ['00000', '99999']) {
    await page.fill('#postcode', bad);
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/session'));
    await page.click('#start-form button[type="submit"]');
    const res = await answer;
    check(res.status() === 400, `${bad}: server answered ${res.status()}`);
    const err = (await res.json()).error;
    check(err.code === 'invalid_postcode', `${bad}: code ${err.code}`);
    check(err.reason === 'department', `${bad}: reason ${err.reason}`);
    await waitText(page.locator('#postcode-error'), /aucun département français/, `${bad}: the page's words for its reason`);
    check(await page.isVisible('#start') && !(await page.isVisible('#chat')), 'left the form');
  }
  await page.context().close();
});

test('postcode_to_chat_to_operator_reply', async () => {
  const page = await newPage();
  const op = await new Operator().login();
  await openPage(page);
  const url = page.url();
  const history = await page.evaluate(() => history.length);
  await axe(page, 'form');
  await shots(page, 'form');

  const s = await startChat(page);
  check(page.url() === url, `the URL changed to ${page.url()}`);
  check(await page.evaluate(() => history.length) === history, 'the chat added a history entry');
  check((await textOf(page, '#unit-name')) === s.unit.name, 'the unit name is not shown');
  check(/Police nationale|Gendarmerie nationale/.test(await textOf(page, '#unit-kind')), 'the unit kind is not shown');
  await waitText(page.locator('#chat-state'), /attente/, 'the waiting state');
  check(!(await page.isVisible('#start')), 'the form is still shown');
  check((await page.inputValue('#postcode').catch(() => '')) === '', 'the postcode stayed in the form');
  await axe(page, 'waiting');
  await shots(page, 'waiting');

  // The visitor writes first: Shift+Enter goes to the line, Enter sends.
  await page.click('#text');
  await page.keyboard.type('Bonjour');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('je suis en danger');
  await page.keyboard.press('Enter');
  const sent = await op.claim(s.session).then(() => op.waitMessage(s.session, (m) => m.from === 'visitor', 'the visitor\'s message'));
  check(sent.text === 'Bonjour\nje suis en danger', `the operator got ${JSON.stringify(sent.text)}`);
  await waitText(page.locator('#log'), /Bonjour/, 'own message on the page');
  check((await page.inputValue('#text')) === '', 'the box was not emptied');

  await waitText(page.locator('#chat-state'), /en ligne/, 'the active state');
  await op.say(s.session, 'Bonjour, nous sommes là. Êtes-vous en sécurité en ce moment ?');
  await waitText(page.locator('#log'), /nous sommes là/, 'the operator\'s reply');
  await waitText(page.locator('#live'), /nous sommes là/, 'the reply in the live region');
  check(await page.locator('#log li').count() >= 2, 'fewer than two messages on the page');
  check(await page.evaluate(() => history.length) === history, 'the chat added a history entry');
  await axe(page, 'chat');
  await shots(page, 'chat');
  await page.context().close();
});

test('messages_are_rendered_as_text_never_html', async () => {
  const page = await newPage();
  const { op, session } = await chatWithOperator(page);
  const evil = '<img src="/x" id="evil"><b>gras</b> & <script>window.pwned=1</script>';
  await op.say(session, evil);
  await waitText(page.locator('#log'), /<b>gras<\/b>/, 'the markup as text');
  const dom = await page.evaluate(() => ({ img: !!document.getElementById('evil'), b: document.querySelectorAll('#log b').length, pwned: !!window.pwned }));
  check(!dom.img && !dom.b && !dom.pwned, `markup was interpreted: ${JSON.stringify(dom)}`);
  await page.context().close();
});

// What the browser keeps of a conversation: `session` lists the tab's
// sessionStorage values; the rest counts what must stay empty.
function storedInBrowser(page) {
  return page.evaluate(async () => ({
    cookie: document.cookie,
    local: localStorage.length,
    session: Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)),
    idb: indexedDB.databases ? (await indexedDB.databases()).length : 0,
    caches: (await caches.keys()).length,
  }));
}

test('only_the_token_is_kept_in_the_tab', async () => {
  const page = await newPage();
  const { op, session, token } = await chatWithOperator(page);
  await page.fill('#text', 'Un message');
  await page.keyboard.press('Enter');
  await op.waitMessage(session, (m) => m.from === 'visitor', 'the message');
  await op.say(session, 'Réponse');
  await waitText(page.locator('#log'), /Réponse/, 'the reply');
  const stored = await storedInBrowser(page);
  const cookies = await page.context().cookies();
  check(!cookies.length, `cookies: ${JSON.stringify(cookies)}`);
  check(!stored.cookie && !stored.local && !stored.idb && !stored.caches, `stored: ${JSON.stringify(stored)}`);
  check(stored.session.length === 1 && stored.session[0] === token, `sessionStorage holds ${stored.session.length} values, not just the token`);
  const origin = (await page.context().storageState()).origins;
  check(!origin.length, `storage state: ${JSON.stringify(origin)}`);
  await page.context().close();
});

async function quickExitTest(trigger) {
  const page = await newPage();
  await page.goto(standIn.startUrl);
  const { op, session, token } = await chatWithOperator(page);
  await op.say(session, 'Message secret de l’équipe');
  await waitText(page.locator('#log'), /secret/, 'the reply');
  const history = await page.evaluate(() => history.length);
  const leave = page.waitForRequest((r) => r.url().endsWith('/api/session/leave'));
  await trigger(page);
  const req = await leave;
  check(req.headers().authorization === `Bearer ${token}`, 'the leave call lacks the bearer token');
  check(JSON.stringify(req.postDataJSON()) === '{"quick":true}', `leave body ${req.postData()}`);
  await landedOnNeutral(page);
  check(await page.evaluate(() => history.length) === history, 'the quick exit changed history.length');
  const seen = await op.waitMessage(session, (m) => m.from === 'system' && /rapide|urgence|quick/i.test(m.text), 'the quick-exit message');
  check(seen, 'no quick-exit message');
  check((await api('GET', '/api/messages?after=0&wait=0', { token })).status === 401, 'the token still works after leaving');
  return page;
}

test('quick_exit_by_button_lands_on_neutral_page', async () => {
  const page = await quickExitTest((p) => p.click('#exit'));
  await page.context().close();
});

test('quick_exit_by_shift_three_times_lands_on_neutral_page', async () => {
  const page = await quickExitTest(async (p) => {
    await p.focus('#text');
    // The page cancels the count after 2 s without a press: the presses go
    // with no check of the harness between them, and the page records what
    // it said and lit after each one.
    await p.evaluate(() => {
      const said = window.__exitSaid = [];
      const record = () => said.push(`${document.getElementById('exit-status').textContent}|${document.querySelectorAll('.exit .dots i.on').length}`);
      const observer = new MutationObserver(record);
      for (const el of [document.getElementById('exit-status'), document.querySelector('.exit .dots')]) {
        observer.observe(el, { subtree: true, childList: true, attributes: true, characterData: true });
      }
    });
    await p.keyboard.press('Shift');
    await p.keyboard.press('Shift');
    const said = await p.evaluate(() => window.__exitSaid);
    await p.keyboard.press('Shift');
    check(said.some((s) => /encore 2 fois.*\|1$/.test(s)), `first Shift not announced with one light: ${said.join(' / ')}`);
    check(said.some((s) => /encore 1 fois.*\|2$/.test(s)), `second Shift not announced with two lights: ${said.join(' / ')}`);
  });
  await page.context().close();
});

// Whether the page's JavaScript heap still holds any of `needles`.
async function heapHolds(page, needles) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.enable');
  await cdp.send('HeapProfiler.collectGarbage');
  let snapshot = '';
  cdp.on('HeapProfiler.addHeapSnapshotChunk', (e) => { snapshot += e.chunk; });
  await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  await cdp.detach();
  return needles.filter((n) => snapshot.includes(n));
}

test('quick_exit_blanks_the_page_and_drops_the_conversation_at_once', async () => {
  const page = await newPage();
  const { op, session, token } = await chatWithOperator(page);
  const secret = 'Secret-' + Math.random().toString(36).slice(2);
  await op.say(session, secret);
  await waitText(page.locator('#log'), new RegExp(secret), 'the reply');
  check((await heapHolds(page, [token])).length === 1, 'the heap probe does not find the token of a live chat');
  // The neutral site answers 204 this once, so the browser stays on the
  // left page and what remains of it can be looked at.
  standIn.noContent = true;
  const dom = await page.evaluate(() => {
    document.getElementById('exit').click();
    return { text: document.body.innerText.trim(), elements: document.body.querySelectorAll('*').length };
  });
  check(dom.text === 'Chargement…' && dom.elements === 1, `the page is not blank right after the click: ${JSON.stringify(dom)}`);
  await op.waitMessage(session, (m) => m.from === 'system' && /rapide|urgence|quick/i.test(m.text), 'the quick-exit message');
  for (const until = Date.now() + STEP_MS; standIn.noContent && Date.now() < until;) await page.waitForTimeout(50);
  check(!standIn.noContent, 'the page never went to the neutral site');
  const left = await heapHolds(page, [secret, token]);
  check(!left.length, `still in the page's memory: ${left.map((x) => (x === token ? 'the token' : 'the message')).join(', ')}`);
  await page.context().close();
});

test('back_after_quick_exit_does_not_show_the_chat', async () => {
  const page = await quickExitTest((p) => p.click('#exit'));
  await page.goBack({ timeout: STEP_MS }).catch(() => null);
  await page.waitForLoadState('domcontentloaded');
  const where = page.url();
  check(where === standIn.startUrl, `Back went to ${where}`);
  const body = await page.evaluate(() => document.body.innerText);
  check(!/secret|Vous écrivez/.test(body), 'the chat is visible after Back');
  await page.context().close();
});

test('shift_in_typing_does_not_count_towards_quick_exit', async () => {
  const page = await newPage();
  await openPage(page);
  await startChat(page);
  await page.focus('#text');
  await page.keyboard.type('Bonjour Madame, Je Suis Là');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Shift+A');
  check(page.url().startsWith(BASE), 'capitals triggered the quick exit');
  // Two presses, then a pause longer than the window: the count restarts.
  await page.keyboard.press('Shift');
  await page.keyboard.press('Shift');
  await waitText(page.locator('#exit-status'), /annulée/, 'the cancellation');
  await page.keyboard.press('Shift');
  await page.waitForTimeout(300);
  check(page.url().startsWith(BASE) && await page.isVisible('#chat'), 'a slow third press triggered the quick exit');
  await page.context().close();
});

const ENDS = ['left', 'quick_exit'];   // the kinds of system message that say the person went

test('reload_mid_chat_brings_the_history_back_and_the_operator_sees_no_leave', async () => {
  const page = await newPage();
  const { op, session, token } = await chatWithOperator(page);
  await page.fill('#text', 'Avant le rechargement');
  await page.keyboard.press('Enter');
  await op.waitMessage(session, (m) => m.from === 'visitor', 'the first message');
  await op.say(session, 'Réponse avant le rechargement');
  await waitText(page.locator('#log'), /Réponse avant/, 'the reply');
  const before = await page.locator('#log li').count();
  let newSessions = 0;
  let leaves = 0;
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (p === '/api/session' && r.method() === 'POST') newSessions += 1;
    if (p === '/api/session/leave') leaves += 1;
  });
  const resumed = page.waitForRequest((r) => /\/api\/messages\?after=0&/.test(r.url()));
  await page.reload();
  check((await resumed).headers().authorization === `Bearer ${token}`, 'the resumed page does not use the same token');
  await waitText(page.locator('#log'), /Avant le rechargement[\s\S]*Réponse avant/, 'the history after the reload');
  await waitText(page.locator('#chat-state'), /en ligne/, 'the active state after the reload');
  check(await page.locator('#log li').count() === before, `${before} messages before the reload, ${await page.locator('#log li').count()} after`);
  check(!(await page.isVisible('#start')), 'the form came back');
  await page.fill('#text', 'Après le rechargement');
  await page.keyboard.press('Enter');
  await op.waitMessage(session, (m) => m.from === 'visitor' && m.text === 'Après le rechargement', 'the message after the reload');
  await op.say(session, 'Toujours là');
  await waitText(page.locator('#log'), /Toujours là/, 'a reply after the reload');
  check(!newSessions && !leaves, `${newSessions} new sessions and ${leaves} leave calls`);
  const ended = op.seen.filter((m) => String(m.session) === String(session) && ENDS.includes(m.kind));
  check(!ended.length, `the operator was told the person left: ${JSON.stringify(ended)}`);
  await axe(page, 'resumed');
  await page.context().close();
});

test('quick_exit_after_a_reload_leaves_nothing', async () => {
  const page = await newPage();
  await page.goto(standIn.startUrl);
  const { op, session, token } = await chatWithOperator(page);
  await op.say(session, 'Message secret de l’équipe');
  await waitText(page.locator('#log'), /secret/, 'the reply');
  await page.reload();
  await waitText(page.locator('#log'), /secret/, 'the reply after the reload');
  await page.click('#exit');
  await landedOnNeutral(page);
  await op.waitMessage(session, (m) => m.kind === 'quick_exit', 'the quick-exit message');
  check((await api('GET', '/api/messages?after=0&wait=0', { token })).status === 401, 'the token still works after leaving');
  await page.goBack({ timeout: STEP_MS }).catch(() => null);
  await page.waitForLoadState('domcontentloaded');
  check(page.url() === standIn.startUrl, `Back went to ${page.url()}`);
  check(!/secret|Vous écrivez/.test(await page.evaluate(() => document.body.innerText)), 'the chat is visible after Back');
  // Typing the page's address again in the same tab: the form, nothing kept.
  let polls = 0;
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/api/messages') polls += 1; });
  await openPage(page);
  const stored = await storedInBrowser(page);
  check(!stored.session.length && !stored.local && !stored.cookie, `the tab kept: ${JSON.stringify(stored)}`);
  check(!polls && !(await page.isVisible('#chat')), 'the page tried to resume the conversation');
  await page.context().close();
});

test('bfcache_restore_catches_up_without_leaving', async () => {
  const page = await newPage();
  const { op, session } = await chatWithOperator(page);
  await page.evaluate(() => {
    window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
  });
  await op.say(session, 'Après le retour');
  await waitText(page.locator('#log'), /Après le retour/, 'a reply after the restore');
  check(page.url().startsWith(BASE), `left for ${page.url()}`);
  const ended = op.seen.filter((m) => String(m.session) === String(session) && ENDS.includes(m.kind));
  check(!ended.length, `the operator was told the person left: ${JSON.stringify(ended)}`);
  await page.context().close();
});

const NUMBERS = ['tel:17', 'tel:112', 'sms:114', 'tel:3919'];

test('nobody_on_duty_says_so_with_the_numbers_until_someone_is', async () => {
  const op = await new Operator().login();
  await op.presence('away');
  try {
    const page = await newPage();
    await openPage(page);
    const s = await startChat(page);
    await visible(page.locator('#off-duty'), 'the nobody-on-duty notice');
    await waitText(page.locator('#off-duty'), /Personne ne peut vous répondre[\s\S]*dès qu/, 'the notice\'s words');
    const links = await page.locator('#off-duty a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    check(NUMBERS.every((n) => links.includes(n)), `the notice links to ${links.join(', ')}`);
    check(/24\s*h\/24/.test(await textOf(page, '#off-duty')), 'the notice does not say 3919 answers day and night');
    const top = await page.evaluate(() => document.getElementById('off-duty').getBoundingClientRect().top
      < document.getElementById('log').getBoundingClientRect().top);
    check(top, 'the notice is not above the conversation');
    await axe(page, 'off duty');
    await shots(page, 'off-duty');
    await op.presence('available');
    await op.events(0);
    await hidden(page.locator('#off-duty'), 'the notice once an operator is on duty');
    check(s.session, 'no session');
  } finally {
    await op.presence('available');
  }
  const page = await newPage();
  await openPage(page);
  await op.events(0);
  await startChat(page);
  await waitText(page.locator('#chat-state'), /attente/, 'the waiting state');
  check(!(await page.isVisible('#off-duty')), 'the notice is shown while an operator is on duty');
  await page.context().close();
});

// From here to network_loss_reconnects_with_backoff, each test has its own
// page and operator login: they run side by side while the 40 s cut waits.
together('network_cut_of_40_s_catches_up_in_3_s_and_sends_the_offline_message_once', async () => {
  const page = await newPage();
  const { op, session, token } = await chatWithOperator(page);
  const cutAt = Date.now();
  await page.context().setOffline(true);
  await visible(page.locator('#net'), 'the connection notice');
  await visible(page.locator('#net-retry'), 'the retry button');
  // The countdown counts: within a few seconds it shows N s then N-1 s.
  const counts = [];
  for (const until = Date.now() + STEP_MS; Date.now() < until;) {
    const m = /dans (\d+) s/.exec(await textOf(page, '#net-text'));
    if (m && Number(m[1]) !== counts[counts.length - 1]) counts.push(Number(m[1]));
    if (counts.some((n, i) => i && counts[i - 1] === n + 1)) break;
    await page.waitForTimeout(200);
  }
  check(counts.some((n, i) => i && counts[i - 1] === n + 1), `the countdown read ${counts.join(', ')} s`);
  await page.fill('#text', 'Écrit pendant la coupure');
  await page.keyboard.press('Enter');
  await waitText(page.locator('#log li.pending'), /pas encore envoyé/, 'the unsent mark');
  check(/Écrit pendant la coupure/.test(await textOf(page, '#log li.pending')), 'the unsent message is not shown');
  await op.say(session, 'Réponse pendant la coupure');
  await page.waitForTimeout(Math.max(0, cutAt + 40000 - Date.now()));   // the cut lasts 40 s: the scenario, not a wait for a result
  const caughtUp = await timeCatchUp(page, { shown: '#log', text: 'Réponse pendant la coupure', gone: ['#log li.pending', '#net'] });
  await page.context().setOffline(false);
  const { took, requests } = await caughtUp();
  console.log(`# the page caught up ${took} ms after its online event; its requests: ${requests}`);
  check(took < 3000, `the page caught up ${took} ms after the network came back; its requests: ${requests}`);
  await op.waitMessage(session, (m) => m.from === 'visitor' && m.text === 'Écrit pendant la coupure', 'the offline message');
  const all = (await api('GET', '/api/messages?after=0&wait=0', { token })).data.messages;
  const copies = all.filter((m) => m.from === 'visitor' && m.text === 'Écrit pendant la coupure').length;
  check(copies === 1, `the offline message arrived ${copies} times`);
  check((await page.locator('#log li', { hasText: 'Écrit pendant la coupure' }).count()) === 1, 'the page shows the message twice');
  await page.context().close();
});

together('a_transfer_updates_the_unit_in_the_header', async () => {
  const page = await newPage();
  const { op, session, unit } = await chatWithOperator(page);
  const units = (await op.expect('GET', '/api/agent/units', undefined, 200)).units;
  const other = units.find((u) => u.name !== unit.name);
  check(other, `the demo operator has no second unit: ${JSON.stringify(units)}`);
  await op.transfer(session, other.code);
  await waitText(page.locator('#unit-name'), new RegExp(`^${other.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), 'the new unit in the header');
  check((await textOf(page, '#unit-kind')) === (other.kind === 'police' ? 'Police nationale' : 'Gendarmerie nationale'), 'the kind of the new unit is not shown');
  await waitText(page.locator('#log'), /confiée à une autre équipe/, 'the transfer worded by the page');
  await waitText(page.locator('#chat-state'), /attente/, 'the waiting state after the transfer');
  await page.context().close();
});

together('a_release_says_another_member_will_answer', async () => {
  const page = await newPage();
  const { op, session } = await chatWithOperator(page);
  await op.release(session);
  await waitText(page.locator('#log'), /Une autre personne de l’équipe va vous répondre/, 'the release worded by the page');
  await waitText(page.locator('#chat-state'), /attente/, 'the waiting state after the release');
  await page.context().close();
});

together('danger_button_advises_at_once_and_flags_the_conversation', async () => {
  const page = await newPage();
  const op = await new Operator().login();
  await openPage(page);
  const s = await startChat(page);
  // The flag's answer is held back: the advice must not wait for it.
  let release;
  const held = new Promise((ok) => { release = ok; });
  await page.route((u) => u.pathname === '/api/session/danger', async (route) => { await held; await route.continue(); });
  await page.click('#danger');
  await visible(page.locator('#danger-advice'), 'the advice before the server answered');
  const advice = await textOf(page, '#danger-advice');
  check(/17/.test(advice) && /SMS au 114/.test(advice) && /dangereux de parler/.test(advice), `the advice reads ${JSON.stringify(advice)}`);
  check(await page.evaluate(() => document.activeElement.id) === 'danger-title', 'focus did not move to the advice');
  const links = await page.locator('#danger-advice a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  check(links.includes('tel:17') && links.includes('sms:114'), `the advice links to ${links.join(', ')}`);
  release();
  await waitText(page.locator('#danger-status'), /transmise à l’équipe/, 'the flag acknowledged');
  const entry = await op.waitEntry(s.session, (e) => e.danger === true, 'danger true');
  check(entry.danger === true, 'not flagged');
  await waitText(page.locator('#log'), /en danger maintenant/, 'the danger message worded by the page');
  await axe(page, 'danger');
  await shots(page, 'danger');
  await page.context().close();
});

together('a_witness_gets_an_intro_and_a_hint_of_their_own', async () => {
  const page = await newPage();
  await openPage(page);
  await startChat(page, { role: 'witness' });
  await waitText(page.locator('#role-intro'), /témoin/, 'the witness intro');
  const hint = await textOf(page, '#role-hint');
  check(/vu ou entendu/.test(hint) && /où/.test(hint) && /quand/.test(hint) && /danger maintenant/.test(hint), `the hint reads ${JSON.stringify(hint)}`);
  check(/role-hint/.test(await page.getAttribute('#text', 'aria-describedby')), 'the hint is not tied to the message box');
  await axe(page, 'witness');
  await page.context().close();
  const victim = await newPage();
  await openPage(victim);
  await startChat(victim, { role: 'victim' });
  await waitText(victim.locator('#chat-state'), /attente/, 'the waiting state');
  check(!(await victim.isVisible('#role-intro')) && !(await victim.isVisible('#role-hint')), 'a victim gets the witness\'s words');
  await victim.context().close();
});

together('operator_closing_shows_the_end', async () => {
  const page = await newPage();
  const { op, session } = await chatWithOperator(page);
  await op.say(session, 'Nous vous rappelons que vous pouvez appeler le 17.');
  await waitText(page.locator('#log'), /appeler le 17/, 'the reply');
  await op.close(session);
  await waitText(page.locator('#chat-state'), /terminée/, 'the ended state');
  check(!(await page.isVisible('#compose')), 'the message box is still offered');
  check(await page.isVisible('#log li >> nth=0'), 'the conversation can no longer be read');
  await axe(page, 'ended');
  await shots(page, 'ended');
  await page.context().close();
});

together('finish_and_erase_deletes_the_session', async () => {
  const page = await newPage();
  const { op, session, token } = await chatWithOperator(page);
  await op.say(session, 'Texte à effacer');
  await waitText(page.locator('#log'), /à effacer/, 'the reply');
  await page.click('#end');
  await visible(page.locator('#end-confirm'), 'the confirmation');
  await axe(page, 'confirm');
  const del = page.waitForResponse((r) => r.url().endsWith('/api/session') && r.request().method() === 'DELETE');
  await page.click('#end-yes');
  const res = await del;
  // 503 erase_pending: erased, the server's files scrubbed moments later (the page says so).
  const pending = res.status() === 503 && (await res.json()).error?.code === 'erase_pending';
  check(res.status() === 204 || pending, `DELETE answered ${res.status()}`);
  await visible(page.locator('#ended'), 'the erased state');
  const body = await page.evaluate(() => document.body.innerText);
  check(!/à effacer/.test(body) && !(await page.isVisible('#chat')), 'the conversation is still on the page');
  check((await api('GET', '/api/messages?after=0&wait=0', { token })).status === 401, 'the token still works after erasing');
  await axe(page, 'erased');
  await shots(page, 'erased');
  await page.click('#again');
  await visible(page.locator('#start'), 'the form again');
  await page.context().close();
});

together('erase_still_scrubbing_counts_as_erased_and_says_so', async () => {
  const page = await newPage();
  await openPage(page);
  await startChat(page);
  // A reader holding the log open is hard to stage here: answer as the server then does.
  const words = 'La conversation est effacée et plus personne ne peut la lire ; ses dernières traces seront nettoyées.';
  await page.route((u) => u.pathname === '/api/session', (route) => (route.request().method() === 'DELETE'
    ? route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'erase_pending', message: words } }) })
    : route.fallback()));
  await page.click('#end');
  await page.click('#end-yes');
  await visible(page.locator('#ended'), 'the erased state');
  await waitText(page.locator('#ended-pending'), /dernières traces/, 'the page\'s words for erase_pending');
  check(!(await page.isVisible('#ended-server')), 'the page claims the server holds nothing any more');
  check(!(await page.isVisible('#chat')) && !(await storedInBrowser(page)).session.length, 'the conversation is still on the page or in the tab');
  await page.context().close();
});

together('expired_session_is_said_plainly', async () => {
  const page = await newPage();
  await openPage(page);
  await startChat(page);
  // The real expiry is hours away: answer the next poll as the server then would.
  await page.route((u) => u.pathname === '/api/messages', (route) => route.fulfill({
    status: 401, contentType: 'application/json',
    body: JSON.stringify({ error: { code: 'session_expired', message: 'La conversation a expiré.' } }),
  }));
  // The page's own poll, which may come back at any moment, meets it; the
  // 'online' event makes it poll again at once rather than wait for that.
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await waitText(page.locator('#chat-state'), /expiré/, 'the expired state');
  check(!(await page.isVisible('#compose')), 'the message box is still offered');
  check(!(await storedInBrowser(page)).session.length, 'the dead token is still kept in the tab');
  await axe(page, 'expired');
  await page.context().close();
});

together('network_loss_reconnects_with_backoff', async () => {
  const page = await newPage();
  const { op, session } = await chatWithOperator(page);
  await page.context().setOffline(true);
  await op.say(session, 'Pendant la coupure');
  await visible(page.locator('#net'), 'the connection notice');
  await op.say(session, 'Toujours pendant la coupure');
  await page.context().setOffline(false);
  await waitText(page.locator('#log'), /Toujours pendant la coupure/, 'the messages after reconnection');
  await waitText(page.locator('#log'), /Pendant la coupure/, 'the first message after reconnection');
  await hidden(page.locator('#net'), 'the connection notice');
  await page.context().close();
});

test('keyboard_alone_reaches_the_chat', async () => {
  const page = await newPage();
  const op = await new Operator().login();
  await openPage(page);
  // The bar, then the language list (plain links), then the form.
  const languages = await page.locator('nav a[hreflang]').allTextContents();
  const order = [];
  for (let i = 0; i < 7 + languages.length; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => {
      const e = document.activeElement;
      return e.id || e.className || e.textContent.trim() || e.name;
    }));
  }
  check(order[0] === 'skip' && order[5] === 'exit' && order.slice(6, -1).join() === languages.join() &&
    order[order.length - 1] === 'role', `focus order: ${order.join(', ')}`);
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.id) === 'postcode', 'Tab from the radios does not reach the postcode');
  await page.keyboard.type(POSTCODE);
  const answer = page.waitForResponse((r) => r.url().endsWith('/api/session'));
  await page.keyboard.press('Enter');
  const session = (await (await answer).json()).session;
  await visible(page.locator('#chat'), 'the chat');
  check(await page.evaluate(() => document.activeElement.id) === 'chat-title', 'focus did not move to the chat');
  // From the title, Tab reaches the message box, through the numbers of
  // the nobody-on-duty notice when it is shown.
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => ({ id: document.activeElement.id, notice: !!document.activeElement.closest('#off-duty') }));
    if (at.id === 'text') break;
    check(at.notice, `Tab from the title went to ${JSON.stringify(at)} before the message box`);
  }
  check(await page.evaluate(() => document.activeElement.id) === 'text', 'Tab from the title does not reach the message box');
  await page.keyboard.type('Au clavier');
  await page.keyboard.press('Enter');
  await op.claim(session);
  await op.waitMessage(session, (m) => m.from === 'visitor' && m.text === 'Au clavier', 'the typed message');
  await page.context().close();
});

test('page_fits_320_px_wide', async () => {
  const page = await newPage({ viewport: { width: 320, height: 568 } });
  await openPage(page);
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(await overflow() <= 0, `form overflows by ${await overflow()} px`);
  await startChat(page);
  const longWord = 'x'.repeat(300);
  await page.fill('#text', longWord);
  await page.keyboard.press('Enter');
  await waitText(page.locator('#log'), new RegExp(longWord), 'the 300-letter word in the log');
  check(await overflow() <= 0, `chat overflows by ${await overflow()} px`);
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  const box = await page.locator('#exit').boundingBox();
  check(box && box.y >= 0 && box.y < 80, `the exit button is not at the top after scrolling: ${JSON.stringify(box)}`);
  check(await page.locator('.sos').isVisible(), 'the numbers are not visible');
  await page.context().close();
});

test('javascript_off_shows_numbers_and_a_working_exit_link', async () => {
  const page = await newPage({ javaScriptEnabled: false, viewport: { width: 360, height: 740 } });
  await page.goto(BASE);
  const text = await page.evaluate(() => document.body.innerText);
  for (const n of ['17', '112', '114', '3919']) check(new RegExp(`\\b${n}\\b`).test(text), `number ${n} missing`);
  check(/JavaScript/.test(text), 'no message about JavaScript');
  check(!(await page.isVisible('#start-form')), 'a form that cannot work is shown');
  await page.screenshot({ path: shotPath('nojs-360.png'), fullPage: true });
  await page.click('#exit');
  await landedOnNeutral(page);
  await page.context().close();
});

test('no_request_left_for_another_host', async () => {
  check(requestsSeen > 0, 'no request was observed at all');
  check(!foreign.length, `requests to other hosts: ${foreign.join(', ')}`);
  check(configuredExit && configuredExit !== standIn.exitUrl, 'the page\'s exit address was never seen');
});

/* ---------- run ---------- */

runTests({
  setUp: async () => { standIn = await startStandIn(); },
  tearDown: async () => { standIn.server.close(); },
});
