// Browser tests of the operators' console (www/agent/), against the real stack.
//
//   ABRI_URL=http://127.0.0.1:PORT/ ABRI_AGENT_USER=... ABRI_AGENT_PASSWORD=... node agent.mjs
//
// Environment (read in _lib.mjs, the same as run.mjs):
//   ABRI_URL             base URL of a running stack (deploy/dev/stack.sh); required
//   ABRI_AGENT_USER, ABRI_AGENT_PASSWORD
//                        an operator of the unit that ABRI_TEST_POSTCODE routes to
//                        (the demo operator belongs to every demo unit)
//   ABRI_TEST_POSTCODE   postcode used for the chats (default 75011)
//   ABRI_CHROMIUM        browser binary (default /usr/bin/chromium)
//   ABRI_TEST_ONLY       run only the tests whose name contains this text
//
// The stack may hold other chats (run.mjs uses the same operator): every
// check looks for its own session by id. Requests to any other host are
// aborted and fail the last test.
//
// Prints one line per test, then "N passed, N failed"; exits 1 on failure.
// Screenshots go to var/screenshots/ (agent-*.png).

import {
  AGENT_PASSWORD, AGENT_USER, BASE, POSTCODE, STEP_MS,
  api, axe, browser, check, hidden, runTests, shotPath, test, visible, waitText,
} from './_lib.mjs';

if (!BASE || !AGENT_USER || !AGENT_PASSWORD) {
  console.error('agent.mjs: set ABRI_URL, ABRI_AGENT_USER and ABRI_AGENT_PASSWORD (deploy/dev/stack.sh --demo)');
  process.exit(2);
}
const base = new URL(BASE);
const CONSOLE = new URL('agent/', base).href;

/* ---------- pages ---------- */

const foreign = [];

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route((u) => u.host !== base.host, (route) => {
    foreign.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (msg) => { if (msg.type() === 'error' && !/Failed to load resource|ERR_INTERNET_DISCONNECTED/.test(msg.text())) page.problems.push(msg.text()); });
  page.on('pageerror', (e) => page.problems.push(String(e)));
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: shotPath(`agent-${name}.png`), fullPage: true });
}

/* ---------- the visitor, through the public API ---------- */

async function openVisitor(role = 'victim') {
  const r = await api('POST', '/api/session', { body: { postcode: POSTCODE, role } });
  check(r.status === 201, `POST /api/session: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data;
}

async function visitorSays(visitor, text) {
  const r = await api('POST', '/api/messages', { token: visitor.token, body: { text } });
  check(r.status === 201, `visitor message: ${r.status} ${JSON.stringify(r.data)}`);
}

async function visitorReads(visitor, match, what) {
  const until = Date.now() + STEP_MS;
  while (Date.now() < until) {
    const r = await api('GET', '/api/messages?after=0&wait=2', { token: visitor.token });
    check(r.status === 200, `visitor poll: ${r.status}`);
    const found = r.data.messages.find(match);
    if (found) return { message: found, state: r.data.state };
  }
  throw new Error(`the visitor never saw ${what}`);
}

/* ---------- the console ---------- */

async function login(page) {
  await page.goto(CONSOLE);
  await visible(page.locator('#login-form'), 'the login form');
  await page.fill('#username', AGENT_USER);
  await page.fill('#password', AGENT_PASSWORD);
  await page.click('#login-form button[type="submit"]');
  await visible(page.locator('#desk'), 'the desk');
}

const entryOf = (page, session) => page.locator('#queue .entry', { has: page.locator('.pid', { hasText: session }) });
const paneOf = (page, session) => page.locator(`#pane-${session}`);

async function claimFromQueue(page, session) {
  const entry = entryOf(page, session);
  await visible(entry, `the queue entry of ${session}`);
  await entry.locator('button.claim').click();
  await visible(paneOf(page, session), `the pane of ${session}`);
}

/* ---------- the tests ---------- */

test('console_is_served_with_the_strict_csp_and_no_inline_code', async () => {
  const res = await fetch(CONSOLE);
  check(res.status === 200, `GET /agent/ answered ${res.status}`);
  const csp = res.headers.get('content-security-policy') || '';
  check(/default-src 'none'/.test(csp) && /script-src 'self'/.test(csp) && !/unsafe-inline/.test(csp), `CSP: ${csp}`);
  const html = await res.text();
  check(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), 'an inline script');
  check(!/\sstyle=|<style/i.test(html), 'inline style');
  check(!/\son[a-z]+=/i.test(html), 'an inline event handler');
});

test('operator_logs_in_sees_a_visitor_arrive_answers_and_the_visitor_reads_it', async () => {
  const page = await newPage();
  await login(page);
  await axe(page, 'desk');

  // The visitor uses the real victims' page.
  const visitorPage = await newPage();
  await visitorPage.goto(BASE);
  await visible(visitorPage.locator('#start'), 'the victims\' form');
  await visitorPage.check('input[name="role"][value="victim"]');
  await visitorPage.fill('#postcode', POSTCODE);
  const opened = visitorPage.waitForResponse((r) => new URL(r.url()).pathname === '/api/session');
  await visitorPage.click('#start-form button[type="submit"]');
  const session = (await (await opened).json()).session;
  await visible(visitorPage.locator('#chat'), 'the visitor\'s chat');
  await visitorPage.fill('#text', 'Bonjour, mon conjoint me menace');
  await visitorPage.keyboard.press('Enter');

  // The console shows the person waiting, and says so in its title.
  const entry = entryOf(page, session);
  await visible(entry, 'the new person in the queue');
  await waitText(entry, /Victime/, 'the role');
  await waitText(entry, /1 message non lu/, 'the unread count');
  check(/en attente/.test(await page.title()), `the title did not change: ${await page.title()}`);
  check(await entry.evaluate((li) => li.classList.contains('new')), 'the new entry is not highlighted');
  await shot(page, 'queue');

  await claimFromQueue(page, session);
  const pane = paneOf(page, session);
  await waitText(pane.locator('.log'), /mon conjoint me menace/, 'the visitor\'s message in the pane');
  check(await page.evaluate((s) => document.activeElement.id === `pane-${s}-text`, session), 'focus did not move to the reply box');

  await page.keyboard.type('Nous sommes là. Êtes-vous en sécurité ?');
  await page.keyboard.press('Enter');
  await waitText(visitorPage.locator('#log'), /Nous sommes là\. Êtes-vous en sécurité \?/, 'the answer on the visitor\'s page');
  await waitText(pane.locator('.log'), /Nous sommes là/, 'the answer in the operator\'s pane');
  check(await pane.locator('textarea').inputValue() === '', 'the reply box was not emptied');

  // The visitor answers while the operator looks elsewhere: the pane asks for attention.
  await page.locator('#queue-title').focus();
  await visitorPage.fill('#text', 'Oui, pour le moment');
  await visitorPage.keyboard.press('Enter');
  await waitText(pane.locator('.log'), /pour le moment/, 'the visitor\'s second message');
  check(await pane.evaluate((el) => el.classList.contains('attention')), 'the pane does not ask for attention');
  check(/nouveau message/.test(await page.title()), `the title does not tell of the message: ${await page.title()}`);
  await axe(page, 'desk with a conversation');
  await shot(page, 'conversation');
  check(!page.problems.length, `console errors: ${page.problems.join(' | ')}`);
});

test('the_whole_console_works_with_the_keyboard_alone', async () => {
  const page = await newPage();
  await page.goto(CONSOLE);
  await visible(page.locator('#login-form'), 'the login form');
  check(await page.evaluate(() => document.activeElement.id) === 'username', 'the username box has no focus');
  await page.keyboard.type(AGENT_USER);
  await page.keyboard.press('Tab');
  await page.keyboard.type(AGENT_PASSWORD);
  await page.keyboard.press('Enter');
  await visible(page.locator('#desk'), 'the desk');

  const visitor = await openVisitor('witness');
  const entry = entryOf(page, visitor.session);
  await visible(entry, 'the queue entry');
  const label = `Prendre en charge la conversation ${visitor.session}`;
  let reached = false;
  for (let i = 0; i < 200 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate((l) => document.activeElement && document.activeElement.getAttribute('aria-label') === l, label);
  }
  check(reached, 'Tab never reached the claim button');
  await page.keyboard.press('Enter');
  await visible(paneOf(page, visitor.session), 'the pane');
  await page.waitForFunction((s) => document.activeElement && document.activeElement.id === `pane-${s}-text`, visitor.session, { timeout: STEP_MS });
  await page.keyboard.type('Merci de votre appel.');
  await page.keyboard.down('Shift');
  await page.keyboard.press('Enter');
  await page.keyboard.up('Shift');
  await page.keyboard.type('Que se passe-t-il ?');
  await page.keyboard.press('Enter');
  const seen = await visitorReads(visitor, (m) => m.from === 'agent', 'the answer typed at the keyboard');
  check(seen.message.text === 'Merci de votre appel.\nQue se passe-t-il ?', `the visitor read ${JSON.stringify(seen.message.text)}`);

  // Close, from the keyboard: Tab to the button, Enter, confirm with Enter.
  const close = paneOf(page, visitor.session).locator('button.close');
  await close.focus();
  await page.keyboard.press('Enter');
  check(await page.evaluate(() => document.activeElement.classList.contains('confirm-yes')), 'the confirmation has no focus');
  await page.keyboard.press('Enter');
  await hidden(paneOf(page, visitor.session), 'the closed pane');
  const end = await visitorReads(visitor, (m) => m.from === 'system' && /mis fin/.test(m.text), 'the end');
  check(end.state === 'closed', `the visitor's state is ${end.state}`);
});

test('messages_are_shown_as_text_never_as_html', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  const evil = '<img src=x onerror="window.__pwned=1"><b>gras</b>';
  await visitorSays(visitor, evil);
  await claimFromQueue(page, visitor.session);
  const log = paneOf(page, visitor.session).locator('.log');
  await waitText(log, /<img src=x/, 'the raw text');
  check(await log.locator('img, b').count() === 0, 'the message became HTML');
  check(await page.evaluate(() => window.__pwned === undefined), 'the message ran code');
});

test('transfer_from_the_console_puts_the_person_back_in_a_queue', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);
  const pane = paneOf(page, visitor.session);
  await pane.locator('.transfer-unit option[value="DDSP-13"]').waitFor({ state: 'attached', timeout: STEP_MS });
  await pane.locator('.transfer-unit').selectOption('DDSP-13');
  await pane.locator('button.transfer').click();
  await pane.locator('.confirm-yes').click();
  await hidden(pane, 'the transferred pane');
  // The demo operator is in DDSP-13 too: it waits there now.
  await waitText(entryOf(page, visitor.session), /Bouches-du-Rhône/, 'the entry in the other unit\'s queue');
  await visitorReads(visitor, (m) => m.from === 'system' && /transmise/.test(m.text), 'the transfer notice');
});

test('visitor_leaving_in_a_hurry_is_shown_plainly', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);
  const r = await api('POST', '/api/session/leave', { token: visitor.token, body: { quick: true } });
  check(r.status === 204, `leave: ${r.status}`);
  const pane = paneOf(page, visitor.session);
  await waitText(pane.locator('.presence'), /sortie rapide/, 'the quick exit');
  await waitText(pane.locator('.log'), /sortie rapide/, 'the system message');
  check(await pane.locator('textarea').isDisabled(), 'the reply box is still enabled');
  check(await pane.locator('.log .alarm').count() > 0, 'the system message is not marked');
  await shot(page, 'left');
  await pane.locator('button.close').click();
  await hidden(pane, 'the removed pane');
});

test('ended_login_shows_the_login_form_and_clears_the_conversations', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await visitorSays(visitor, 'Message confidentiel');
  await claimFromQueue(page, visitor.session);
  await waitText(paneOf(page, visitor.session).locator('.log'), /confidentiel/, 'the message');
  // Log this browser out behind its back, then make its poll wake.
  const cookies = await page.context().cookies();
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const me = await api('GET', '/api/agent/me', { headers: { Cookie: cookie } });
  check(me.status === 200, `me: ${me.status}`);
  const out = await api('POST', '/api/agent/logout', { headers: { Cookie: cookie, 'X-Abri-CSRF': me.data.csrf } });
  check(out.status === 204, `logout: ${out.status}`);
  await openVisitor();
  await visible(page.locator('#login'), 'the login form');
  await waitText(page.locator('#login-notice'), /expiré|fermée/, 'the notice');
  check(!(await page.evaluate(() => document.body.textContent.includes('confidentiel'))), 'the conversation stayed on the page');
  await axe(page, 'login');
  await shot(page, 'expired');
});

test('network_drop_is_shown_and_the_console_reconnects', async () => {
  const page = await newPage();
  await login(page);
  await page.context().setOffline(true);
  await visible(page.locator('#status'), 'the connection notice');
  await waitText(page.locator('#status'), /Connexion au service perdue/, 'the notice');
  await page.context().setOffline(false);
  await hidden(page.locator('#status'), 'the connection notice');
  const visitor = await openVisitor();
  await visible(entryOf(page, visitor.session), 'a new person after reconnecting');
});

test('logout_button_ends_the_login', async () => {
  const page = await newPage();
  await login(page);
  await page.click('#logout');
  await visible(page.locator('#login'), 'the login form');
  await page.reload();
  await visible(page.locator('#login'), 'the login form after a reload');
});

test('reloaded_console_stays_logged_in', async () => {
  const page = await newPage();
  await login(page);
  await page.reload();
  await visible(page.locator('#desk'), 'the desk after a reload');
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);   // the CSRF value came back with /api/agent/me
});

test('wrong_password_is_said_plainly', async () => {
  const page = await newPage();
  await page.goto(CONSOLE);
  await visible(page.locator('#login-form'), 'the login form');
  await page.fill('#username', 'personne-inconnue');
  await page.fill('#password', 'mauvais mot de passe');
  await page.click('#login-form button[type="submit"]');
  await waitText(page.locator('#login-error'), /incorrect/, 'the error');
  check(await page.evaluate(() => document.activeElement.id) === 'password', 'focus did not return to the password');
});

test('no_request_left_for_another_host', async () => {
  check(!foreign.length, `requests to other hosts: ${foreign.join(', ')}`);
});

/* ---------- run ---------- */

runTests();
