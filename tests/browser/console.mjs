// Browser tests of the console's night shift (issue 14): alerts, triage,
// canned replies, internal notes, typing, the layout of two conversations.
//
//   ABRI_URL=http://127.0.0.1:PORT/ ABRI_AGENT_USER=... ABRI_AGENT_PASSWORD=... node console.mjs
//
// The environment is agent.mjs's (_lib.mjs, _console.mjs). The stack needs
// the demo's canned replies (deploy/dev/stack.sh --demo). Every check looks
// for its own sessions by id: other scripts' chats may be on the stack.
//
// Prints one line per test, then "N passed, N failed"; exits 1 on failure.
// Screenshots go to var/screenshots/ (console-1280.png, console-360.png).

import { AGENT_USER, POSTCODE, STEP_MS, api, axe, check, hidden, runTests, shotPath, test, visible, waitText } from './_lib.mjs';
import {
  claimFromQueue, entryOf, foreign, login, newPage, openVisitor, paneOf, showPane, visitorHistory, visitorReads,
  visitorSays,
} from './_console.mjs';

// The page believes its tab is hidden while window.__hidden is true, and
// keeps every desktop notification it makes in window.__notes.
function watchAlerts() {
  Object.defineProperty(Document.prototype, 'hidden', { get() { return window.__hidden === true; } });
  const Real = window.Notification;
  window.__notes = [];
  window.Notification = function (title, options) {
    window.__notes.push({ title, body: options.body });
    return new Real(title, options);
  };
  Object.defineProperty(window.Notification, 'permission', { get: () => Real.permission });
  window.Notification.requestPermission = (cb) => Real.requestPermission(cb);
}

const counter = (page, name) => page.evaluate((n) => Number(document.body.dataset[n] || 0), name);

async function until(what, fn) {
  const end = Date.now() + STEP_MS;
  for (;;) {
    const value = await fn();
    if (value) return value;
    check(Date.now() < end, what);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

// Presses `key` in the scrollable `box` until `arrived(position)`.
// Chromium animates a key's scroll: a key pressed while an animation runs
// moves the animation's target by the key's distance from where the box is
// now, and a message that lands while the log is near its end takes it back
// there. So the key is pressed again (three presses at most) only when the
// box has stood still for a second short of its goal.
async function scrollByKey(page, box, key, arrived) {
  const at = () => box.evaluate((el) => ({ top: el.scrollTop, max: el.scrollHeight - el.clientHeight }));
  let last = await at();
  for (let presses = 0; presses < 3; presses += 1) {
    await page.keyboard.press(key);
    const end = Date.now() + STEP_MS;
    for (let still = Date.now(); Date.now() < end && Date.now() - still < 1000;) {
      await new Promise((ok) => setTimeout(ok, 100));
      const now = await at();
      if (arrived(now)) return;
      if (now.top !== last.top || now.max !== last.max) still = Date.now();
      last = now;
    }
  }
  throw new Error(`${key} did not scroll the log: ${JSON.stringify(last)}`);
}

/* ---------- alerts ---------- */

test('notifications_are_asked_from_a_button_after_login_never_on_load', async () => {
  const page = await newPage();
  // A browser that has not been asked yet (headless Chromium says "denied").
  await page.addInitScript(() => {
    window.__asked = 0;
    Object.defineProperty(Notification, 'permission', { get: () => 'default' });
    Notification.requestPermission = () => { window.__asked += 1; return Promise.resolve('default'); };
  });
  await login(page);
  await visible(page.locator('#notify-ask'), 'the button that asks for notifications');
  check(await page.evaluate(() => window.__asked) === 0, 'the console asked before the button');
  await page.locator('#notify-ask').click();
  check(await page.evaluate(() => window.__asked) === 1, 'the button did not ask');
});

test('new_person_waiting_chimes_and_notifies_without_text_and_not_when_muted', async () => {
  const page = await newPage({ permissions: ['notifications'] });
  await page.addInitScript(watchAlerts);
  await login(page);
  await visible(page.locator('#notify-text-box'), 'the choice of text in notifications');
  check(await page.locator('#sound').isChecked(), 'the sound is not on by default');
  await page.evaluate(() => { window.__hidden = true; });

  const visitor = await openVisitor();
  await visible(entryOf(page, visitor.session), 'the new person');
  await until('no sound for a new person', async () => await counter(page, 'sounds') === 1);
  await until('no notification for a new person', async () => await counter(page, 'notifications') === 1);

  // A message in a held conversation, tab hidden: notified without its text
  // until the operator chooses to see it.
  await claimFromQueue(page, visitor.session);
  await page.evaluate(() => { window.__hidden = true; });
  await visitorSays(visitor, 'Il est rentré ce soir');
  await until('no notification of the message', async () => await counter(page, 'notifications') === 2);
  let notes = await page.evaluate(() => window.__notes);
  check(notes.length === 2 && !notes.some((n) => /rentré/.test(n.title + n.body)), `text on a locked screen: ${JSON.stringify(notes)}`);
  await page.evaluate(() => { window.__hidden = false; });
  await page.locator('#notify-text').check();
  await page.evaluate(() => { window.__hidden = true; });
  await visitorSays(visitor, 'Il dort maintenant');
  await until('no notification of the second message', async () => await counter(page, 'notifications') === 3);
  notes = await page.evaluate(() => window.__notes);
  check(notes[2].body === 'Il dort maintenant', `the chosen text is not shown: ${JSON.stringify(notes[2])}`);
  check(await counter(page, 'sounds') === 3, `sounds: ${await counter(page, 'sounds')}`);

  // Muted: the next person is notified, not chimed.
  await page.evaluate(() => { window.__hidden = false; });
  await page.locator('#sound').uncheck();
  await page.evaluate(() => { window.__hidden = true; });
  const next = await openVisitor();
  await visible(entryOf(page, next.session), 'the next person');
  await until('no notification for the next person', async () => await counter(page, 'notifications') === 4);
  check(await counter(page, 'sounds') === 3, 'a muted console chimed');
  check(/en attente/.test(await page.title()), `the title lost its count: ${await page.title()}`);
  check(!page.problems.length, `console errors: ${page.problems.join(' | ')}`);
});

/* ---------- triage ---------- */

test('queue_shows_preview_role_language_and_orders_danger_then_written_then_wait', async () => {
  const page = await newPage();
  await login(page);
  const silent = await openVisitor('witness');
  const wrote = (await api('POST', '/api/session', { body: { postcode: POSTCODE, role: 'victim', lang: 'en' } })).data;
  await visitorSays(wrote, 'He threatens me with a knife');
  const danger = await openVisitor();
  check((await api('POST', '/api/session/danger', { token: danger.token, body: {} })).status === 200, 'danger');

  const entry = entryOf(page, wrote.session);
  await waitText(entry.locator('.preview'), /threatens me with a knife/, 'the preview');
  await waitText(entry, /Victime/, 'the role');
  await waitText(entry, /en anglais/, 'the language');
  await waitText(entry, /1 message non lu/, 'the unread count');
  await waitText(entry, /connectée/, 'the connection');
  await waitText(entry, /attend depuis/, 'the wait');
  await visible(entryOf(page, danger.session).locator('.danger-flag'), 'the danger flag');
  const order = await page.locator('#queue .entry .pid').allTextContents();
  const at = [danger, wrote, silent].map((v) => order.indexOf(v.session));
  check(at[0] >= 0 && at[0] < at[1] && at[1] < at[2], `order ${at} in ${order}`);
});

/* ---------- canned replies, notes, typing ---------- */

test('canned_reply_is_picked_with_the_keyboard_edited_and_the_visitor_reads_the_edit', async () => {
  const page = await newPage();
  // The login's ask for the replies meets a network blip: the console asks again.
  let asked = 0;
  await page.route('**/api/agent/replies', (route) => (++asked === 1 ? route.abort() : route.continue()));
  await login(page);
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);
  const pane = paneOf(page, visitor.session);
  await page.waitForFunction((s) => document.activeElement.id === `pane-${s}-text`, visitor.session, { timeout: STEP_MS });
  await page.keyboard.press('/');
  await visible(pane.locator('.picker'), 'the canned replies');
  check(await page.evaluate((s) => document.activeElement.id === `pane-${s}-filter`, visitor.session), 'the filter has no focus');
  await page.keyboard.type('3919');
  await until('the filter keeps other replies', async () => await pane.locator('.picker-list [role="option"]').count() === 1);
  check(asked === 2, `the replies were asked ${asked} times`);
  await axe(page, 'canned replies open');
  await page.keyboard.press('Enter');
  await hidden(pane.locator('.picker'), 'the canned replies');
  const inserted = await pane.locator('.compose textarea').inputValue();
  check(/^Violences Femmes Info : appelez le 3919/.test(inserted), `inserted ${JSON.stringify(inserted)}`);
  await page.keyboard.type(' Je reste avec vous.');
  await page.keyboard.press('Enter');
  const read = await visitorReads(visitor, (m) => m.from === 'agent', 'the canned reply');
  check(read.message.text === `${inserted} Je reste avec vous.`, `the visitor read ${JSON.stringify(read.message.text)}`);
  check(read.message.author === undefined, 'the visitor was told who answered');
  // The reply is named as colleagues and the export name it, from the
  // send on, not only after a reload.
  await waitText(pane.locator('.log li.agent .meta').last(), new RegExp(`^Équipe \\(${AGENT_USER}\\) · `), 'the reply\'s author');
});

test('internal_note_is_marked_exported_and_never_reaches_the_visitor', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);
  const pane = paneOf(page, visitor.session);
  const note = 'Voix de l’agresseur entendue derrière';
  await pane.locator('.note-box summary').click();
  await pane.locator('.note-form textarea').fill(note);
  await pane.locator('.note-form button[type="submit"]').click();
  const shown = pane.locator('.log li.note');
  await waitText(shown, /Voix de l’agresseur/, 'the note in the log');
  await waitText(shown.locator('.meta'), /^Note interne \(.+\) · \d\d:\d\d$/, 'the note\'s mark and author');
  const history = await visitorHistory(visitor);
  check(!JSON.stringify(history).includes('agresseur'), 'the note reached the visitor');
  const exported = await page.evaluate((href) => fetch(href).then((r) => r.text()), await pane.locator('a.export').getAttribute('href'));
  check(exported.includes('Note interne') && exported.includes(note), 'the export has no note');
  const offset = await page.evaluate(() => -new Date().getTimezoneOffset());
  check((await pane.locator('a.export').getAttribute('href')).endsWith(`?tz_offset=${offset}`), 'the export ignores the time zone');
});

test('typing_is_shown_both_ways_and_goes', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);
  const pane = paneOf(page, visitor.session);
  check((await api('POST', '/api/session/typing', { token: visitor.token })).status === 204, 'the person\'s typing');
  await visible(pane.locator('.typing'), '"la personne écrit…"');
  await hidden(pane.locator('.typing'), '"la personne écrit…"');
  await pane.locator('.compose textarea').pressSequentially('Je vous');
  await until('the visitor never saw the team typing', async () => (await visitorHistory(visitor)).typing === true);
  await until('the team\'s typing never ended', async () => (await visitorHistory(visitor)).typing !== true);
});

/* ---------- layout ---------- */

test('two_chats_side_by_side_at_1280_nothing_clipped_at_360_keyboard_and_axe', async () => {
  const page = await newPage({ viewport: { width: 1280, height: 800 } });
  await login(page);
  const first = await openVisitor();
  const second = await openVisitor('witness');
  await visitorSays(first, Array.from({ length: 40 }, (_, i) => `ligne ${i + 1}`).join('\n'));
  await claimFromQueue(page, first.session);
  await claimFromQueue(page, second.session);
  const a = await paneOf(page, first.session).boundingBox();
  const b = await paneOf(page, second.session).boundingBox();
  const q = await page.locator('#queue-box').boundingBox();
  check(a && b && q.x + q.width <= Math.min(a.x, b.x) && Math.abs(a.y - b.y) < 2 && a.x !== b.x,
    `not side by side: queue ${JSON.stringify(q)}, ${JSON.stringify(a)}, ${JSON.stringify(b)}`);
  // A note, from the keyboard alone.
  const firstPane = paneOf(page, first.session);
  await firstPane.locator('.note-box summary').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Appel coupé deux fois : proposer le 3919');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await waitText(firstPane.locator('.log li.note'), /proposer le 3919/, 'the note written at the keyboard');
  const third = await openVisitor();
  await visitorSays(third, 'Je suis enfermée dans la salle de bain, il crie');
  await waitText(entryOf(page, third.session).locator('.preview'), /salle de bain/, 'a third person\'s preview');
  await axe(page, 'two chats open');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: shotPath('console-1280.png') });

  // The log scrolls from the keyboard.
  const box = paneOf(page, first.session).locator('.log-box');
  await box.evaluate((el) => { el.scrollTop = 0; });
  await box.focus();
  await scrollByKey(page, box, 'End', (at) => at.top > 0 && at.top >= at.max - 1);
  await scrollByKey(page, box, 'Home', (at) => at.top === 0);

  await page.setViewportSize({ width: 360, height: 740 });
  await until('something is wider than 360 px', async () =>
    await page.evaluate(() => document.documentElement.scrollWidth <= 360));
  const tab = page.locator('#switcher button', { hasText: first.session });
  await tab.focus();
  await page.keyboard.press('Enter');
  await visible(paneOf(page, first.session), 'the chosen pane');
  await hidden(paneOf(page, second.session), 'the other pane');
  check(await page.evaluate((s) => document.activeElement.id === `pane-${s}-text`, first.session), 'the reply box has no focus');
  await showPane(page, second.session);
  check(await page.evaluate(() => document.documentElement.scrollWidth) <= 360, 'clipped at 360 px');
  // Past the queue from the keyboard: the skip link comes right after the
  // header's controls, and leads to the held conversations.
  await page.locator('#logout').focus();
  await page.keyboard.press('Tab');
  check(await page.evaluate(() => document.activeElement.classList.contains('skip')), 'the skip link does not follow the header');
  await page.keyboard.press('Enter');
  check(await page.evaluate(() => document.activeElement.id) === 'held-title', 'the skip link did not reach the conversations');
  await axe(page, '360 px');
  await page.screenshot({ path: shotPath('console-360.png'), fullPage: true });
  check(!page.problems.length, `console errors: ${page.problems.join(' | ')}`);
});

test('no_request_left_for_another_host', async () => {
  check(!foreign.length, `requests to other hosts: ${foreign.join(', ')}`);
});

runTests();
