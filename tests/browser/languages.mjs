// The victims' page in every language (issue 15): for each language of
// www/lang/ (found there, so a new one is tested by itself), the first load
// under 50 KB as transferred, lang, dir, title and the language list, the
// wrong postcodes answered in that language, the whole flow (postcode,
// chat, the team typing, an operator's reply, the person's message, quick
// exit) with that language's words, axe-core clean, no request to another
// host. Screenshots at 360 px of French, Arabic and Chinese go to
// var/screenshots/lang-*.png.
//
//   ABRI_URL=http://127.0.0.1:PORT/ ABRI_AGENT_USER=... ABRI_AGENT_PASSWORD=... node languages.mjs
//
// One browser, one stack, every language (tests/run.py runs it with run.mjs).

import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import {
  BASE, POSTCODE, STEP_MS, Operator,
  api, axe, browser, check, firstLoad, runTests, shotPath, test, together, visible, waitText,
} from './_lib.mjs';

if (!BASE) {
  console.error('languages.mjs: set ABRI_URL to the base URL of a running stack (deploy/dev/stack.sh)');
  process.exit(2);
}
const WWW = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'www');
const SHOT_LANGS = ['fr', 'ar', 'zh'];
const MAX_BYTES = 50 * 1024;

/* ---------- the languages, from the files the pages are made of ---------- */

// {section: {key: text}} of www/lang/ID.txt (the format: www/lang/README.md).
function readLang(id) {
  const out = {};
  let section = null;
  for (const line of fs.readFileSync(path.join(WWW, 'lang', `${id}.txt`), 'utf8').split('\n').map((x) => x.trim())) {
    if (!line || line.startsWith('#')) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) { section = out[head[1]] = {}; continue; }
    const eq = line.indexOf('=');
    section[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

// The words the page's script uses, as the page gets them (js/words-ID.js).
function wordsOf(id) {
  const sandbox = { window: {} };
  vm.runInNewContext(fs.readFileSync(path.join(WWW, 'js', `words-${id}.js`), 'utf8'), sandbox);
  return sandbox.window.abriWords;
}

const ids = fs.readdirSync(path.join(WWW, 'lang')).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4))
  .sort((a, b) => (a === 'fr' ? -1 : b === 'fr' ? 1 : a < b ? -1 : 1));
const langs = ids.map((id) => ({ id, url: new URL(id === 'fr' ? '' : `${id}/`, BASE).href, ...readLang(id), words: wordsOf(id) }));

/* ---------- the browser: nothing leaves the machine ---------- */

const base = new URL(BASE);
const exitUrl = /href="([^"]+)" data-exit/.exec(fs.readFileSync(path.join(WWW, 'index.html'), 'utf8'))[1];
const exitHost = new URL(exitUrl).host;
const foreign = [];   // requests to another host than the stack's, from every test

// A context where the neutral exit site is answered here, and any other
// host is recorded and refused.
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  await context.route((u) => u.host !== base.host, (route) => {
    const u = new URL(route.request().url());
    if (u.host === exitHost) return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>-</title>' });
    foreign.push(u.href);
    return route.abort('blockedbyclient');
  });
  return context.newPage();
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exactly = (s) => new RegExp(`^${escape(s)}$`);
const including = (s) => new RegExp(escape(s));

/* ---------- the tests ---------- */

test('translation_sources_are_not_served', async () => {
  for (const p of ['lang/fr.txt', 'lang/generate.py', 'lang/page.html']) {
    const r = await api('GET', p);
    check(r.status === 404, `GET /${p} answered ${r.status}`);
  }
});

for (const l of langs) {
  test(`${l.id}_first_load_under_50_kb`, async () => {
    const { total, parts } = await firstLoad(l.url);
    check(parts.some(([u]) => u.endsWith(`/js/words-${l.id}.js`)), `${l.id}: its words are not loaded`);
    check(!parts.some(([u]) => /\/words-/.test(u) && !u.endsWith(`/words-${l.id}.js`)), `${l.id}: another language's words are loaded`);
    check(total < MAX_BYTES, `${l.id}: ${total} bytes: ${parts.map(([u, n]) => `${u} ${n}`).join(', ')}`);
  });
}

// The operator types once; the page says so, even when the signal lands
// between two of its polls (the poll says what the page shows).
async function teamTyping(page, op, session, words, id) {
  await op.typing(session);
  await waitText(page.locator('#typing'), exactly(words), `${id}: the team typing`);
}

// The whole flow in language `l`, with the operator `op`.
async function wholeFlow(l, op) {
  const w = l.words;
  const page = await newPage();
  const bodies = [];
  let typingSent = 0;
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (p === '/api/session' && r.method() === 'POST') bodies.push(JSON.parse(r.postData()));
    if (p === '/api/session/typing') typingSent += 1;
  });
  await page.goto(l.url);
  await visible(page.locator('#start'), `${l.id}: the form`);
  const head = await page.evaluate(() => ({
    lang: document.documentElement.lang, dir: document.documentElement.dir, title: document.title,
    list: [...document.querySelectorAll('nav a[hreflang]')].map((a) => [a.lang, a.hreflang, a.textContent, a.href]),
  }));
  check(head.lang === l.meta.lang && head.dir === l.meta.dir, `${l.id}: lang ${head.lang}, dir ${head.dir}`);
  check(head.title === l.page.title, `${l.id}: title ${head.title}`);
  check(head.list.length === langs.length, `${l.id}: ${head.list.length} languages listed`);
  for (const o of langs) {
    check(head.list.some(([lang, hreflang, name, href]) => lang === o.meta.lang && hreflang === o.meta.lang && name === o.meta.name && href === o.url),
      `${l.id}: no link to ${o.id} named in itself`);
  }

  // Wrong postcodes, each answered in this language: the shape by the
  // page, the department and Monaco by the server's reason.
  await page.check('input[name="role"][value="victim"]');
  for (const [postcode, key] of [['7501', 'postcode.format'], ['00000', 'postcode.department'], ['98000', 'postcode.monaco']]) {
    await page.fill('#postcode', postcode);
    await page.click('#start-form button[type="submit"]');
    await waitText(page.locator('#postcode-error'), exactly(w[key]), `${l.id}: ${postcode}`);
  }
  // The form's structure is the same in every language: audited in the
  // three that cover left to right, right to left and Chinese script.
  if (SHOT_LANGS.includes(l.id)) {
    await axe(page, `${l.id}, a wrong postcode`);
    await page.evaluate(() => window.scrollTo(0, 0));   // the sticky bar where a person sees it
    await page.screenshot({ path: shotPath(`lang-${l.id}-form-360.png`), fullPage: true });
  }

  // The chat: created in this language, worded in it all along.
  await page.fill('#postcode', POSTCODE);
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/session' && r.request().method() === 'POST');
  await page.click('#start-form button[type="submit"]');
  const res = await answer;
  check(res.status() === 201, `${l.id}: POST /api/session answered ${res.status()}`);
  const s = await res.json();
  check(bodies[bodies.length - 1].lang === w.lang, `${l.id}: the session was asked in ${bodies[bodies.length - 1].lang}`);
  await waitText(page.locator('#chat-state'), exactly(w['state.waiting']), `${l.id}: the waiting state`);
  await op.claim(s.session);
  await waitText(page.locator('#chat-state'), exactly(w['state.active']), `${l.id}: the active state`);
  await waitText(page.locator('#log'), including(w['system.claimed']), `${l.id}: the claimed message`);
  await teamTyping(page, op, s.session, w.typing, l.id);
  await op.say(s.session, `Réponse ${l.id}`);
  await waitText(page.locator('#log .agent .txt'), exactly(`Réponse ${l.id}`), `${l.id}: the operator's reply`);
  const who = await page.locator('#log .agent .who').first().textContent();
  check(who.startsWith(w[`who.${s.unit.kind}`]), `${l.id}: the reply is signed ${who}`);
  await waitText(page.locator('#typing'), /^$/, `${l.id}: the typing line after the reply`);
  // One input event, one signal: typed key by key, a loaded machine may
  // take longer than the 4 s between two signals.
  await page.locator('#text').fill('Bonjour');
  const until = Date.now() + STEP_MS;
  while (!typingSent && Date.now() < until) await page.waitForTimeout(50);
  check(typingSent === 1, `${l.id}: ${typingSent} typing signals for one word`);
  await page.locator('#text').press('Enter');
  await waitText(page.locator('#log .visitor:not(.pending) .who'), new RegExp(`^${escape(w['who.you'])}, `), `${l.id}: the person's message sent`);
  await axe(page, `${l.id}, chat`);
  if (SHOT_LANGS.includes(l.id)) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shotPath(`lang-${l.id}-chat-360.png`), fullPage: true });
  }

  // Quick exit: the same everywhere.
  await page.click('#exit');
  await page.waitForURL((u) => u.host === exitHost, { timeout: STEP_MS });
  // The leave call may still be on its way (keepalive): wait for its effect.
  let status = 0;
  for (const until = Date.now() + STEP_MS; status !== 401 && Date.now() < until;) {
    status = (await api('GET', '/api/messages?after=0&wait=0', { token: s.token })).status;
    if (status !== 401) await page.waitForTimeout(100);
  }
  check(status === 401, `${l.id}: the token still answers ${status} after the quick exit`);
  await page.context().close();
}

// One test per language, so that a failure names it and ABRI_TEST_ONLY
// can run one; a few at a time (their flows wait on the network), with one
// operator for all, logged in once.
let operator;
for (const l of langs) {
  together(`${l.id}_whole_flow_in_its_language`, async () => {
    operator = operator || new Operator().login();
    await wholeFlow(l, await operator);
  });
}

test('no_request_to_another_host', async () => {
  check(!foreign.length, `requests to other hosts: ${foreign.join(', ')}`);
});

runTests();
