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
// and ABRI_DB, ABRI_BIN (read in _console.mjs).
//
// The stack may hold other chats (run.mjs uses the same operator): every
// check looks for its own session by id. Requests to any other host are
// aborted and fail the last test.
//
// Prints one line per test, then "N passed, N failed"; exits 1 on failure.
// Screenshots go to var/screenshots/ (agent-*.png).

import { AGENT_PASSWORD, AGENT_USER, BASE, POSTCODE, STEP_MS, api, axe, check, hidden, runTests, test, timeCatchUp, visible, waitText } from './_lib.mjs';
import {
  CONSOLE, claimFromQueue, colleague, entryOf, erase, foreign, login, newPage, openVisitor, paneOf, shot,
  showPane, visitorHistory, visitorReads, visitorSays, visitorState,
} from './_console.mjs';

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
  check(await pane.locator('.compose textarea').inputValue() === '', 'the reply box was not emptied');

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
  const end = await visitorReads(visitor, (m) => m.kind === 'closed', 'the end');
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
  // The login's ask for the units meets a network blip: the console asks again.
  let asked = 0;
  await page.route('**/api/agent/units', (route) => (++asked === 1 ? route.abort() : route.continue()));
  await login(page);
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);
  const pane = paneOf(page, visitor.session);
  await pane.locator('.transfer-unit option[value="DDSP-13"]').waitFor({ state: 'attached', timeout: STEP_MS });
  check(asked === 2, `the units were asked ${asked} times`);
  await pane.locator('.transfer-unit').selectOption('DDSP-13');
  await pane.locator('.handover-text').fill('Parle bas, ne pas appeler');
  await pane.locator('button.transfer').click();
  await pane.locator('.confirm-yes').click();
  await hidden(pane, 'the transferred pane');
  // The demo operator is in DDSP-13 too: it waits there now, with the handover note.
  await waitText(entryOf(page, visitor.session), /Bouches-du-Rhône/, 'the entry in the other unit\'s queue');
  await waitText(entryOf(page, visitor.session).locator('.handover'), /Note de passation : Parle bas, ne pas appeler/, 'the handover note');
  check(!JSON.stringify(await visitorHistory(visitor)).includes('Parle bas'), 'the handover note reached the visitor');
  await visitorReads(visitor, (m) => m.kind === 'transferred', 'the transfer notice');
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
  check(!(await pane.locator('.compose textarea').isVisible()), 'the reply box is still there');
  // Styled from its kind: the claim is not an alarm, the quick exit is.
  check(await pane.locator('.log .alarm[data-kind="quick_exit"]').count() === 1, 'the quick exit is not an alarm');
  check(await pane.locator('.log [data-kind="claimed"]:not(.alarm)').count() === 1, 'the claim is not plain');
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

/* ---------- nobody left alone (issue 12) ---------- */

test('presence_switch_takes_the_units_off_duty_and_back', async () => {
  const page = await newPage();
  await login(page);
  const duty = page.locator('#duty li');
  await visible(page.locator('#duty li.on-duty'), 'a unit on duty once the console polls');
  await waitText(page.locator('#duty li.on-duty').first(), new RegExp(`de service : .*${AGENT_USER}`), 'who is on duty');
  check(await page.locator('#presence input[value="available"]').isChecked(), 'the switch does not say available');
  await page.locator('#presence label', { hasText: 'Absent' }).click();
  await hidden(page.locator('#duty li.on-duty'), 'the units on duty');
  check(await duty.count() > 0 && await page.locator('#duty li.off-duty').count() === await duty.count(),
    'a unit is not shown off duty');
  await waitText(page.locator('#duty'), /personne de service/, 'the words off duty');
  check((await openVisitor()).on_duty === false, 'a new visitor is told somebody is on duty');
  await axe(page, 'away');
  await page.locator('#presence label', { hasText: 'Disponible' }).click();
  await hidden(page.locator('#duty li.off-duty'), 'the units off duty');
  check((await openVisitor()).on_duty === true, 'a new visitor is told nobody is on duty');
  check(!page.problems.length, `console errors: ${page.problems.join(' | ')}`);
});

test('released_chat_goes_back_to_the_queue_and_a_colleague_claims_it', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await visitorSays(visitor, 'Je voudrais parler à quelqu’un');
  await claimFromQueue(page, visitor.session);
  await visitorState(visitor, 'active');
  const pane = paneOf(page, visitor.session);
  await pane.locator('button.release').click();
  await hidden(pane, 'the released pane');
  await visible(entryOf(page, visitor.session), 'the released chat back in the queue');
  check(await page.locator(`#notice-${visitor.session}`).count() === 0, 'a release the operator asked for left a notice');
  await visitorState(visitor, 'waiting');
  const released = (await visitorHistory(visitor)).messages.filter((m) => m.kind === 'released');
  check(released.length === 1, `the visitor got ${released.length} released messages`);
  const other = await colleague();
  await claimFromQueue(other, visitor.session);
  await waitText(paneOf(other, visitor.session).locator('.log'), /parler à quelqu’un/, 'the history for the colleague');
  await visitorState(visitor, 'active');
});

test('logout_gives_the_chat_back_and_a_colleague_claims_it', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);
  await visitorState(visitor, 'active');
  await page.click('#logout');
  await visible(page.locator('#login'), 'the login form');
  await waitText(page.locator('#login-notice'), /retournées? dans la file/, 'the notice of the hand-over');
  await visitorState(visitor, 'waiting');
  const other = await colleague();
  await claimFromQueue(other, visitor.session);
  await visitorState(visitor, 'active');
});

test('erased_chat_leaves_a_notice_without_content_until_dismissed', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  const secret = 'Mon adresse est 12 rue des Lilas';
  await visitorSays(visitor, secret);
  await claimFromQueue(page, visitor.session);
  await waitText(paneOf(page, visitor.session).locator('.log'), /rue des Lilas/, 'the message');
  await erase(visitor);
  const notice = page.locator(`#notice-${visitor.session}`);
  await visible(notice, 'the notice');
  await waitText(notice, /La personne a effacé la conversation/, 'the words of the notice');
  check(await paneOf(page, visitor.session).count() === 0, 'the pane stayed');
  check(!(await page.locator('body').textContent()).includes('rue des Lilas'), 'the erased text stayed on screen');
  // Later answers of the poll (a new person arriving) leave the notice in place.
  const next = await openVisitor();
  await visible(entryOf(page, next.session), 'the next person');
  check(await notice.isVisible(), 'the notice went away by itself');
  await axe(page, 'erased notice');
  await shot(page, 'erased');
  await notice.locator('button.dismiss').click();
  await hidden(notice, 'the dismissed notice');
  check(await page.evaluate(() => document.activeElement.id) === 'held-title', 'the focus was lost with the notice');
});

test('network_cut_for_40_s_catches_up_within_3_s_and_the_offline_reply_arrives_once', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);
  const pane = paneOf(page, visitor.session);
  const cut = Date.now();
  await page.context().setOffline(true);
  await visible(page.locator('#status'), 'the connection notice');
  await visible(page.locator('#retry-now'), 'the retry button');
  // The countdown counts: two readings a second apart differ.
  const first = await waitText(page.locator('#countdown'), /dans \d+ s/, 'the countdown');
  const until = Date.now() + STEP_MS;
  let second = first;
  while (second === first && Date.now() < until) {
    await new Promise((ok) => setTimeout(ok, 100));
    second = await page.locator('#countdown').textContent();
  }
  check(second !== first, `the countdown stood still at ${first}`);
  const reply = `Réponse tapée hors ligne ${process.pid}`;
  await pane.locator('.compose textarea').fill(reply);
  await pane.locator('.compose textarea').press('Enter');
  await waitText(pane.locator('.log .unsent'), /pas encore envoyé/, 'the reply kept as not yet sent');
  await visitorSays(visitor, 'Vous êtes toujours là ?');
  await axe(page, 'offline with a reply not yet sent');
  // The cut lasts 40 s: the scenario, not a wait for a condition.
  await new Promise((ok) => setTimeout(ok, Math.max(0, 40000 - (Date.now() - cut))));
  await shot(page, 'offline');
  const caughtUp = await timeCatchUp(page, {
    shown: `#pane-${visitor.session} .log`, text: 'toujours là', gone: ['#status', `#pane-${visitor.session} .log .unsent`],
  });
  await page.context().setOffline(false);
  const { took, requests } = await caughtUp();
  console.log(`# the console caught up ${took} ms after its online event; its requests: ${requests}`);
  check(took <= 3000, `the console caught up in ${took} ms; its requests: ${requests}`);
  const sent = (await visitorHistory(visitor)).messages.filter((m) => m.from === 'agent' && m.text === reply);
  check(sent.length === 1, `the visitor got the offline reply ${sent.length} times`);
  check(await pane.locator('.log li.agent', { hasText: reply }).count() === 1, 'the pane shows the reply more than once');
});

test('held_chat_ended_from_elsewhere_leaves_a_notice', async () => {
  // The demo operator in two browsers holds the same chats: what one
  // closes leaves the other's hands without its asking.
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await claimFromQueue(page, visitor.session);
  const elsewhere = await newPage();
  await login(elsewhere);
  const pane = paneOf(elsewhere, visitor.session);
  await showPane(elsewhere, visitor.session);
  await pane.locator('button.close').click();
  await pane.locator('.confirm-yes').click();
  await hidden(pane, 'the closed pane');
  const notice = page.locator(`#notice-${visitor.session}`);
  await visible(notice, 'the notice of the ended chat');
  await waitText(notice, /a été close|n’est plus entre vos mains/, 'the words of the notice');
  check(await paneOf(page, visitor.session).count() === 0, 'the pane stayed');
});

test('danger_is_first_in_the_queue_and_in_the_pane_header', async () => {
  const page = await newPage();
  await login(page);
  await openVisitor();
  const visitor = await openVisitor();
  const r = await api('POST', '/api/session/danger', { token: visitor.token, body: {} });
  check(r.status === 200, `danger: ${r.status}`);
  const entry = entryOf(page, visitor.session);
  await visible(entry.locator('.danger-flag'), 'the danger flag in the queue');
  const order = await page.locator('#queue .entry:not(.left)').evaluateAll((lis) =>
    lis.map((li) => ({ session: li.querySelector('.pid').textContent, danger: li.classList.contains('danger') })));
  const at = order.findIndex((e) => e.session === visitor.session);
  check(at >= 0 && order.slice(0, at).every((e) => e.danger), `a person not in danger comes first: ${JSON.stringify(order)}`);
  await claimFromQueue(page, visitor.session);
  const pane = paneOf(page, visitor.session);
  await visible(pane.locator('.pane-head .danger-flag'), 'the danger flag in the pane');
  check(await pane.locator('.log [data-kind="danger"].alarm').count() === 1, 'the danger message is not an alarm');
  await axe(page, 'a chat in danger');
  await shot(page, 'danger');
});

test('person_who_left_before_an_answer_stays_listed_and_opens_read_only', async () => {
  const page = await newPage();
  await login(page);
  const visitor = await openVisitor();
  await visitorSays(visitor, 'Je ne peux pas rester, il rentre');
  const r = await api('POST', '/api/session/leave', { token: visitor.token, body: { quick: false } });
  check(r.status === 204, `leave: ${r.status}`);
  const entry = entryOf(page, visitor.session);
  await visible(entry.locator('.left-note'), 'the note "partie avant réponse"');
  await waitText(entry.locator('.preview'), /il rentre/, 'what the person wrote');
  await claimFromQueue(page, visitor.session);
  const pane = paneOf(page, visitor.session);
  await waitText(pane.locator('.log'), /il rentre/, 'the history');
  check(!(await pane.locator('.compose textarea').isVisible()), 'a reply box for a person who left');
  await waitText(pane.locator('.pane-state'), /avant toute réponse/, 'the read-only notice');
  await pane.locator('button.close').click();
  await hidden(pane, 'the pane let go');
});

test('waiting_total_is_shown_when_the_queue_is_cut_to_a_page', async () => {
  // Last of the file: it fills the queue beyond one page (100 entries),
  // then erases what it made so that later scripts find an ordinary queue.
  const page = await newPage();
  await login(page);
  const made = [];
  try {
    for (let i = 0; i < 11; i++) made.push(...await Promise.all(Array.from({ length: 10 }, () => openVisitor('witness'))));
    // The console may first show a count taken while they were arriving,
    // and other scripts' people may come and go: read the three places
    // until they agree on a number that holds everyone made here.
    const until = Date.now() + STEP_MS;
    let seen = '';
    for (;;) {
      const more = (await page.locator('#queue-more').textContent()) || '';
      const count = (await page.locator('#queue-count').textContent()) || '';
      const title = await page.title();
      seen = `"${more}", count ${count}, title "${title}"`;
      const total = Number(count);
      if (total >= made.length && new RegExp(`^${total} personnes en attente : les 100 premières`).test(more) &&
          title.startsWith(`(${total} en attente`)) break;
      check(Date.now() < until, `the queue's total never agreed: ${seen} (${made.length} made)`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
    check(await page.locator('#queue .entry:not(.left)').count() === 100, 'the page is not the one the server sent');
  } finally {
    for (const visitor of made) await erase(visitor);
  }
});

test('no_request_left_for_another_host', async () => {
  check(!foreign.length, `requests to other hosts: ${foreign.join(', ')}`);
});

/* ---------- run ---------- */

runTests();
