// What the console's browser tests (agent.mjs, console.mjs) share: their
// pages, the visitor through the public API, and the console's steps. The
// leading underscore keeps tests/run.py from running this file as a test.
//
// Read here only:
//   ABRI_DB, ABRI_BIN    the stack's database and programs: when both are set,
//                        the colleague of the hand-over tests is a second account
//                        made with abrictl; otherwise the demo operator logs in a
//                        second time in a browser of its own
//
// Requests to any other host are aborted and listed in `foreign`.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  AGENT_PASSWORD, AGENT_USER, BASE, POSTCODE, STEP_MS, api, browser, check, shotPath, visible,
} from './_lib.mjs';

if (!BASE || !AGENT_USER || !AGENT_PASSWORD) {
  console.error(`${path.basename(process.argv[1])}: set ABRI_URL, ABRI_AGENT_USER and ABRI_AGENT_PASSWORD (deploy/dev/stack.sh --demo)`);
  process.exit(2);
}
export const base = new URL(BASE);
export const CONSOLE = new URL('agent/', base).href;

/* ---------- pages ---------- */

export const foreign = [];

// A page in a context of its own; `permissions` as Playwright grants them
// (['notifications']), `viewport` its size.
export async function newPage({ permissions = [], viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport, permissions });
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

export async function shot(page, name) {
  await page.screenshot({ path: shotPath(`agent-${name}.png`), fullPage: true });
}

/* ---------- the visitor, through the public API ---------- */

export async function openVisitor(role = 'victim') {
  const r = await api('POST', '/api/session', { body: { postcode: POSTCODE, role } });
  check(r.status === 201, `POST /api/session: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data;
}

// "Terminer et effacer". 503 erase_pending means erased: the rows and the
// token are gone and the server scrubs its files moments later (asking
// again would get 401). Any other 503 (the database busy) is asked again.
export async function erase(visitor) {
  const until = Date.now() + STEP_MS;
  for (;;) {
    const r = await api('DELETE', '/api/session', { token: visitor.token });
    if (r.status === 204 || (r.status === 503 && r.data?.error?.code === 'erase_pending')) return;
    if (r.status !== 503 || Date.now() > until) throw new Error(`erase: ${r.status} ${JSON.stringify(r.data)}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

export async function visitorSays(visitor, text) {
  const r = await api('POST', '/api/messages', { token: visitor.token, body: { text } });
  check(r.status === 201, `visitor message: ${r.status} ${JSON.stringify(r.data)}`);
}

// The visitor's whole history and state, as a reloaded page gets them.
export async function visitorHistory(visitor) {
  const r = await api('GET', '/api/messages?after=0&wait=0', { token: visitor.token });
  check(r.status === 200, `visitor poll: ${r.status}`);
  return r.data;
}

export async function visitorState(visitor, state) {
  const until = Date.now() + STEP_MS;
  let last;
  while (Date.now() < until) {
    last = (await visitorHistory(visitor)).state;
    if (last === state) return;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  throw new Error(`the visitor's state stayed ${last}, never ${state}`);
}

export async function visitorReads(visitor, match, what) {
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

export async function login(page, username = AGENT_USER, password = AGENT_PASSWORD) {
  await page.goto(CONSOLE);
  await visible(page.locator('#login-form'), 'the login form');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#login-form button[type="submit"]');
  await visible(page.locator('#desk'), 'the desk');
  // The first poll's queue is the console's baseline: only people who come
  // after it are chimed and notified as new.
  await page.locator('#queue-box[aria-busy="false"]').waitFor({ state: 'attached', timeout: STEP_MS });
}

// A second operator of the same units, in a browser of its own: an account
// made with abrictl when the stack's database is known, else the demo
// operator logged in again (it then also sees what the first one holds).
let colleagueAccount = null;

export async function colleague() {
  if (!colleagueAccount) colleagueAccount = makeColleague();
  const { username, password } = await colleagueAccount;
  const page = await newPage();
  await login(page, username, password);
  return page;
}

async function makeColleague() {
  if (!process.env.ABRI_DB || !process.env.ABRI_BIN) return { username: AGENT_USER, password: AGENT_PASSWORD };
  const me = await api('POST', '/api/agent/login', { body: { username: AGENT_USER, password: AGENT_PASSWORD } });
  check(me.status === 200, `demo login: ${me.status}`);
  const username = `collegue-${process.pid}`;
  const password = 'un mot de passe de collègue assez long';
  const units = me.data.agent.units.flatMap((u) => ['--unit', u.code]);
  execFileSync(path.join(process.env.ABRI_BIN, 'abrictl'), ['--db', process.env.ABRI_DB, 'agent', 'add', username, ...units],
    { input: `${password}\n`, env: { PATH: process.env.PATH, ABRI_DB: process.env.ABRI_DB } });
  return { username, password };
}

export const entryOf = (page, session) => page.locator('#queue .entry', { has: page.locator('.pid', { hasText: session }) });
export const paneOf = (page, session) => page.locator(`#pane-${session}`);

export async function claimFromQueue(page, session) {
  const entry = entryOf(page, session);
  await visible(entry, `the queue entry of ${session}`);
  await entry.locator('button.claim').click();
  await visible(paneOf(page, session), `the pane of ${session}`);
}


// Puts the pane of `session` on screen from the switcher (one or two
// conversations are shown at a time).
export async function showPane(page, session) {
  const tab = page.locator('#switcher button', { hasText: session });
  await visible(tab, `the switcher's button of ${session}`);
  await tab.click();
  await visible(paneOf(page, session), `the pane of ${session}`);
}
