// What Chromium's operations cost on this machine: the figures behind
// docs/performance.md's "What `make test` costs". Started by
// `python3 tests/bench/bench.py browser-cost`, which serves ABRI_URL.
//
// Each operation runs ROUNDS times after one round to warm up; the CPU is
// the whole machine's (/proc/stat: user, nice, system, irq, softirq,
// steal), since a browser's work is spread over processes that its
// launcher never waits for. Run it on a quiet machine. Not a test: it
// lives one folder down, where tests/run.py does not look.
import fs from 'node:fs';
import { BASE, axe, launchBrowser } from '../_lib.mjs';

const ROUNDS = 10;

function busySeconds() {
  const ticks = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]) / 100;
}

const browser = await launchBrowser();

// A page in a context of its own, as most tests open one.
async function freshPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await context.newPage();
  await p.goto(BASE);
  return p;
}

const page = await freshPage();   // the tab the other operations reuse

// [what, run, setUp]: only `run` is counted; `setUp` readies its round.
const operations = [
  ['a fresh context and page, the page loaded, one field filled', async () => {
    const p = await freshPage();
    await p.fill('#postcode', '75011');
    await p.context().close();
  }],
  ['the page loaded again in the same tab', () => page.goto(BASE)],
  ['the first fill on a freshly loaded page (playwright injects its script)',
    () => page.fill('#postcode', '75011'), () => page.goto(BASE)],
  ['the same fill again', () => page.fill('#postcode', '75011')],
  ['one animation frame', () => page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => ok())))],
  ['one evaluate', () => page.evaluate(() => 1)],
  ['axe: loaded and run on the page', () => axe(page, 'the form')],
  ['an open page doing nothing, for a second', () => new Promise((ok) => setTimeout(ok, 1000))],
];

console.log('| operation | CPU-s each |\n|---|---|');
for (const [name, run, setUp = async () => {}] of operations) {
  await setUp();
  await run();
  let total = 0;
  for (let i = 0; i < ROUNDS; i += 1) {
    await setUp();
    const before = busySeconds();
    await run();
    total += busySeconds() - before;
  }
  console.log(`| ${name} | ${(total / ROUNDS).toFixed(3)} |`);
}
await browser.close();
