// Browser test of a session flood (issue 13): while new sessions pour in
// past the server's threshold (ABRI_WORK_AFTER), a real visitor on the
// page is asked for work, her browser does it (www/js/work.js) and she
// has her chat within 5 s.
//
//   ABRI_URL=http://127.0.0.1:PORT/ node flood.mjs
//
// Environment: as run.mjs (_lib.mjs reads it). tests/run.py gives it a
// stack of its own; the flood's sessions are erased at the end.

import { BASE, POSTCODE, STEP_MS, api, browser, check, runTests, test, visible } from './_lib.mjs';

if (!BASE) {
  console.error('flood.mjs: set ABRI_URL to the base URL of a running stack (deploy/dev/stack.sh)');
  process.exit(2);
}

const VISITOR_MS = 5000;     // the promise to a visitor during a flood
const FLOODERS = 8;          // requests of the flood in flight at once
const OPEN = { postcode: POSTCODE, role: 'victim' };

// Creates sessions without work until `flood.stop`; counts the answers.
function startFlood() {
  const flood = { stop: false, tokens: [], asked: 0 };
  flood.done = Promise.all(Array.from({ length: FLOODERS }, async () => {
    while (!flood.stop) {
      const r = await api('POST', '/api/session', { body: OPEN });
      if (r.status === 201) flood.tokens.push(r.data.token);
      else if (r.status === 429 && r.data.error.code === 'work_required') flood.asked += 1;
      else throw new Error(`the flood got ${r.status} ${JSON.stringify(r.data)}`);
    }
  }));
  return flood;
}

async function until(condition, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

// Stops the flood and erases its sessions.
async function stopFlood(flood) {
  flood.stop = true;
  await flood.done.catch(() => {});
  for (const token of flood.tokens) await api('DELETE', '/api/session', { token });
}

test('a_visitor_who_does_the_work_gets_a_chat_within_5_s_during_a_flood', async () => {
  const flood = startFlood();
  try {
    await until(() => flood.asked > 0, STEP_MS, 'the flood asked for work');
    const context = await browser.newContext();
    const page = await context.newPage();
    const asks = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/session' && r.method() === 'POST') asks.push(JSON.parse(r.postData()));
    });
    await page.goto(BASE);
    await visible(page.locator('#start'), 'the form');
    await page.check('input[name="role"][value="victim"]');
    await page.fill('#postcode', POSTCODE);
    const started = Date.now();
    const created = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/session' && r.status() === 201,
      { timeout: STEP_MS });
    await page.click('#start-form button[type="submit"]');
    await created;
    await visible(page.locator('#chat'), 'the chat');
    const took = Date.now() - started;
    console.log(`# the visitor's chat opened in ${took} ms, the flood was asked for work ${flood.asked} times`);
    check(asks.length === 2 && !asks[0].work_nonce && asks[1].work_challenge && asks[1].work_nonce,
      `the page did not answer the work: ${JSON.stringify(asks)}`);
    check(took < VISITOR_MS, `the chat took ${took} ms`);
  } finally {
    await stopFlood(flood);
  }
});

await runTests();
