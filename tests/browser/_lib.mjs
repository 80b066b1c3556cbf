// What the browser tests (run.mjs, agent.mjs) share: their settings, the
// harness that runs them in Debian's chromium, the waits, the axe audit and
// the calls to the API. The leading underscore keeps tests/run.py from
// running this file as a test script.
//
// Environment, read here for both:
//   ABRI_URL             base URL of a running stack (deploy/dev/stack.sh)
//   ABRI_AGENT_USER, ABRI_AGENT_PASSWORD
//                        an operator of the unit that ABRI_TEST_POSTCODE routes to
//   ABRI_TEST_POSTCODE   postcode used for the chats (default 75011)
//   ABRI_CHROMIUM        browser binary (default /usr/bin/chromium)
//   ABRI_TEST_ONLY       run only the tests whose name contains this text

import { chromium } from 'playwright-core';
import http from 'node:http';
import zlib from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const SHOTS = path.join(ROOT, 'var', 'screenshots');
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export const BASE = process.env.ABRI_URL;
export const POSTCODE = process.env.ABRI_TEST_POSTCODE || '75011';
export const AGENT_USER = process.env.ABRI_AGENT_USER;
export const AGENT_PASSWORD = process.env.ABRI_AGENT_PASSWORD;
const CHROMIUM = process.env.ABRI_CHROMIUM || '/usr/bin/chromium';
const ONLY = process.env.ABRI_TEST_ONLY || '';
const TEST_TIMEOUT_MS = 90000;
export const STEP_MS = 20000;     // how long one expected change may take (CI may be loaded)

/* ---------- harness ---------- */

const tests = [];
export function test(name, fn) { tests.push({ name, fn }); }
// Tests that mostly wait on the network and share nothing (one flow per
// language): consecutive ones run AT_ONCE at a time, each reported alone.
export function together(name, fn) { tests.push({ name, fn, together: true }); }
const AT_ONCE = 4;
export function check(cond, msg) { if (!cond) throw new Error(msg); }

export let browser;   // set by runTests() before the first test

// Runs `t` in at most TEST_TIMEOUT_MS (twice that beside others: they
// share the machine); prints its line; true if it passed.
let counted = 0;
async function runOne(t) {
  const started = Date.now();
  let timer;
  try {
    await Promise.race([
      t.fn(),
      new Promise((_, ko) => {
        timer = setTimeout(() => ko(new Error('timed out')), t.together ? 2 * TEST_TIMEOUT_MS : TEST_TIMEOUT_MS);
      }),
    ]);
    console.log(`ok ${++counted} - ${t.name} (${Date.now() - started} ms)`);
    return true;
  } catch (e) {
    console.log(`not ok ${++counted} - ${t.name}\n  # ${String(e && e.message || e).split('\n').join('\n  # ')}`);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

// Debian's chromium as every test script uses it (and cost/measure.mjs,
// which prices its operations). playwright-core gives every launch a fresh
// temporary user-data-dir.
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

// Launches chromium, runs the tests (those named with ABRI_TEST_ONLY), each
// in at most TEST_TIMEOUT_MS, closing their contexts after them; prints one
// line per test and "N passed, N failed", and exits 1 on a failure.
// `setUp` runs before the browser starts, `tearDown` after it closed.
export async function runTests({ setUp = async () => {}, tearDown = async () => {} } = {}) {
  try {
    await setUp();
    browser = await launchBrowser();
    const chosen = tests.filter((x) => x.name.includes(ONLY));
    let passed = 0;
    while (chosen.length) {
      const batch = [chosen.shift()];
      while (batch[0].together && chosen.length && chosen[0].together) batch.push(chosen.shift());
      const lanes = Array.from({ length: Math.min(AT_ONCE, batch.length) }, async () => {
        for (let t = batch.shift(); t; t = batch.shift()) if (await runOne(t)) passed += 1;
      });
      await Promise.all(lanes);
      for (const c of browser.contexts()) await c.close().catch(() => {});
    }
    await browser.close();
    await tearDown();
    console.log(`${passed} passed, ${counted - passed} failed`);
    process.exit(counted - passed ? 1 : 0);
  } catch (e) {
    console.error(e);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

/* ---------- waits and checks on a page ---------- */

export async function visible(locator, what) {
  await locator.first().waitFor({ state: 'visible', timeout: STEP_MS })
    .catch(() => { throw new Error(`${what} never became visible`); });
}

export async function hidden(locator, what) {
  await locator.first().waitFor({ state: 'hidden', timeout: STEP_MS })
    .catch(() => { throw new Error(`${what} never went away`); });
}

// Waits until the text of the first element of `locator` matches `re`.
// The match runs here, not in the page: the page's heap keeps no trace of it.
export async function waitText(locator, re, what) {
  const until = Date.now() + STEP_MS;
  let last = '';
  while (Date.now() < until) {
    last = (await locator.first().textContent().catch(() => '')) || '';
    if (re.test(last)) return last;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`${what}: reads ${JSON.stringify(last.slice(0, 300))}`);
}

// Times a catch-up by the page's own clock, from its `online` event to the
// first change after which `shown` holds `text` and nothing of `gone` is
// left on screen. Call it while offline; the function it returns waits and
// gives the milliseconds, and the page's requests meanwhile as the harness
// saw them (what a failure message shows). The harness's round trips, slow
// on a loaded machine, are not counted: what is timed is the page's work.
export async function timeCatchUp(page, { shown, text, gone }) {
  const began = Date.now();
  const requests = [];
  const note = (what) => (r) => requests.push(`${Date.now() - began} ms ${what} ${r.method()} ${new URL(r.url()).pathname}`);
  page.on('request', note('sent'));
  page.on('requestfinished', note('answered'));
  page.on('requestfailed', note('failed'));
  await page.evaluate(({ shown, text, gone }) => {
    const times = window.__catchUp = {};
    const caughtUp = () => (document.querySelector(shown)?.textContent || '').includes(text)
      && gone.every((sel) => Array.from(document.querySelectorAll(sel)).every((el) => el.closest('[hidden]')));
    window.addEventListener('online', () => {
      times.online = performance.now();
      const see = () => {
        if (times.done !== undefined || !caughtUp()) return;
        times.done = performance.now();
        observer.disconnect();
      };
      const observer = new MutationObserver(see);
      observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      see();
    }, { once: true });
  }, { shown, text, gone });
  return async () => {
    await page.waitForFunction(() => window.__catchUp.done !== undefined, null, { timeout: STEP_MS })
      .catch(() => { throw new Error(`no catch-up within ${STEP_MS} ms; requests: ${requests.join(', ')}`); });
    const took = await page.evaluate(() => Math.round(window.__catchUp.done - window.__catchUp.online));
    return { took, requests: requests.join(', ') };
  };
}

export async function axe(page, state) {
  await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const v = result.violations;
  check(!v.length, `axe, state ${state}: ` + v.map((x) => `${x.id} (${x.impact}): ${x.nodes.map((n) => n.target.join(' ')).join(', ')}`).join('; '));
}

// Where the screenshot `file` goes: var/screenshots/ at the root of the repository.
export function shotPath(file) {
  fs.mkdirSync(SHOTS, { recursive: true });
  return path.join(SHOTS, file);
}

/* ---------- the API, outside the browser ---------- */

// One call to the stack; `token` is a visitor's bearer token. Returns
// {status, data (parsed JSON, else the text), res}.
export async function api(method, p, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(new URL(p, BASE), { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: res.status, data, res };
}

/* ---------- the operator side, through the operators' API ---------- */

export class Operator {
  constructor() { this.cookie = ''; this.csrf = ''; this.cursor = null; this.seen = []; }

  call(method, p, body) {
    return api(method, p, { body, headers: { Cookie: this.cookie, 'X-Abri-CSRF': this.csrf } });
  }

  async login() {
    if (!AGENT_USER || !AGENT_PASSWORD) throw new Error('set ABRI_AGENT_USER and ABRI_AGENT_PASSWORD (a demo operator)');
    const r = await this.call('POST', '/api/agent/login', { username: AGENT_USER, password: AGENT_PASSWORD });
    if (r.status !== 200) throw new Error(`operator login: ${r.status} ${JSON.stringify(r.data)}`);
    const cookies = r.res.headers.getSetCookie ? r.res.headers.getSetCookie() : [r.res.headers.get('set-cookie')];
    this.cookie = cookies.filter(Boolean).map((c) => c.split(';')[0]).join('; ');
    this.csrf = r.data.csrf;
    return this;
  }

  async expect(method, p, body, status) {
    const r = await this.call(method, p, body);
    if (r.status !== status) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(r.data)} (wanted ${status})`);
    return r.data;
  }

  claim(session) { return this.expect('POST', `/api/agent/sessions/${encodeURIComponent(session)}/claim`, undefined, 200); }
  say(session, text) { return this.expect('POST', `/api/agent/sessions/${encodeURIComponent(session)}/messages`, { text }, 201); }
  close(session) { return this.expect('POST', `/api/agent/sessions/${encodeURIComponent(session)}/close`, undefined, 200); }
  release(session) { return this.expect('POST', `/api/agent/sessions/${encodeURIComponent(session)}/release`, undefined, 200); }
  transfer(session, unit) { return this.expect('POST', `/api/agent/sessions/${encodeURIComponent(session)}/transfer`, { unit }, 200); }
  typing(session) { return this.expect('POST', `/api/agent/sessions/${encodeURIComponent(session)}/typing`, undefined, 204); }
  presence(status) { return this.expect('PUT', '/api/agent/presence', { status }, 200); }

  // One events poll from the last cursor; every message it brings is kept in `seen`.
  async events(wait) {
    const q = this.cursor === null ? `?wait=${wait}` : `?after=${encodeURIComponent(this.cursor)}&wait=${wait}`;
    const r = await this.call('GET', '/api/agent/events' + q);
    if (r.status !== 200) throw new Error(`events: ${r.status} ${JSON.stringify(r.data)}`);
    if (r.data.cursor !== undefined) this.cursor = r.data.cursor;
    this.seen.push(...(r.data.messages || []));
    return r.data;
  }

  // Follows the operator's long-poll until a message of `session` matches.
  async waitMessage(session, match, what) {
    const until = Date.now() + STEP_MS;
    while (Date.now() < until) {
      const found = ((await this.events(2)).messages || []).find((m) => String(m.session) === String(session) && match(m));
      if (found) return found;
    }
    throw new Error(`the operator never saw ${what}`);
  }

  // Follows the long-poll until the queue entry of `session` matches.
  async waitEntry(session, match, what) {
    const until = Date.now() + STEP_MS;
    while (Date.now() < until) {
      const entry = ((await this.events(2)).queue || []).find((e) => String(e.session) === String(session));
      if (entry && match(entry)) return entry;
    }
    throw new Error(`the operator's queue never showed ${what}`);
  }
}

/* ---------- what a page costs ---------- */

// One GET as a browser asks it (gzip accepted): the bytes that crossed the
// network for it, status line, headers and the body as sent, and the body.
function getRaw(url) {
  return new Promise((ok, ko) => {
    http.get(url, { headers: { 'Accept-Encoding': 'gzip, deflate' } }, (res) => {
      let wire = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`.length + 2;
      for (let i = 0; i < res.rawHeaders.length; i += 2) wire += res.rawHeaders[i].length + res.rawHeaders[i + 1].length + 4;
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode, wire: wire + Buffer.concat(chunks).length, body: Buffer.concat(chunks), encoding: res.headers['content-encoding'] }));
    }).on('error', ko);
  });
}

// The first load of the page at `url`: the page and every style sheet and
// script it names. Returns {total, parts: [[url, bytes]]}, bytes as
// transferred (nginx compresses the static pages).
export async function firstLoad(address) {
  const url = new URL(address).href;
  const page = await getRaw(url);
  check(page.status === 200, `GET ${url} answered ${page.status}`);
  const text = await new Promise((ok, ko) => (page.encoding === 'gzip'
    ? zlib.gunzip(page.body, (e, b) => (e ? ko(e) : ok(b.toString('utf8'))))
    : ok(page.body.toString('utf8'))));
  const names = [...text.matchAll(/<(?:link rel="stylesheet" href|script src)="([^"]+)"/g)].map((m) => new URL(m[1], url).href);
  const parts = [[url, page.wire]];
  for (const name of names) {
    const r = await getRaw(name);
    check(r.status === 200, `GET ${name} answered ${r.status}`);
    parts.push([name, r.wire]);
  }
  return { total: parts.reduce((n, [, b]) => n + b, 0), parts };
}
