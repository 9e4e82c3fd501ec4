// SPDX-License-Identifier: Apache-2.0
// Browser test of the dashboard on a fresh install: the first-run panel
// with the tracker snippet until the first event, then the site and its
// change against the period before; the view (a custom range too)
// kept in the URL; each table's CSV link; the line about bot events; and a
// phone-sized screenshot. The caller sends the events when asked on stdout
// ("send" then waits for a line on stdin). Usage: node firstrun.mjs WEB_URL ARTIFACT_DIR
import { fail, launch } from './browser.mjs';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const [webUrl, artifacts] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

const browser = await launch();
try {
  fs.mkdirSync(artifacts, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(webUrl);
  await page.waitForFunction(() => !document.getElementById('first-run').hidden);
  const snippet = await page.textContent('#snippet');
  if (!/^<script src="http:\/\/127\.0\.0\.1:\d+\/tracker\.js" data-site="[^"]+" async><\/script>$/.test(snippet))
    fail('snippet: ' + snippet);
  if (!/waiting for the first event/.test(await page.textContent('#status')))
    fail('status: ' + await page.textContent('#status'));
  await page.screenshot({ path: path.join(artifacts, 'dashboard-first-run.png') });

  console.log('send');
  await lines.next();
  // the sites are polled: the first event's site appears, the panel goes
  await page.waitForFunction(() => document.getElementById('site').value === 'fresh', null,
    { timeout: 30000 });
  await page.waitForFunction(() => document.getElementById('first-run').hidden);
  await page.waitForFunction(() => !document.getElementById('bots').hidden, null, { timeout: 30000 });
  const bots = await page.textContent('#bots');
  if (!/^1 event from bots/.test(bots)) fail('bots line: ' + bots);
  // the cards compare with the period before (yesterday: nothing)
  const delta = await page.textContent('#delta-pageview');
  if (delta !== 'new vs the period before') fail('pageview change: ' + delta);

  // the view is in the URL, and a link to it shows it again
  await page.selectOption('#range', 'week');
  const url = page.url();
  if (!/[?&]site=fresh(&|$)/.test(url) || !/[?&]range=week(&|$)/.test(url)) fail('url: ' + url);
  const again = await browser.newPage();
  await again.goto(url);
  await again.waitForFunction(() => document.getElementById('site').value === 'fresh');
  if (await again.$eval('#range', (s) => s.value) !== 'week') fail('the link lost the range');

  // a custom range of whole days, also kept in the URL
  const day = (d) => new Date(Date.now() + d * 864e5).toISOString().slice(0, 10);
  await page.selectOption('#range', 'custom');
  await page.fill('#from', day(-1));
  await page.fill('#to', day(0));
  await page.dispatchEvent('#to', 'change');
  await page.waitForFunction(() => /[?&]range=custom&from=[\d-]+&to=[\d-]+/.test(location.search));
  await page.waitForFunction(() => document.getElementById('card-pageview').textContent === '1');
  const custom = await browser.newPage();
  await custom.goto(page.url());
  await custom.waitForFunction(() => document.getElementById('card-pageview').textContent === '1');
  const kept = await custom.evaluate(() => [document.getElementById('range').value,
    document.getElementById('from').value, document.getElementById('to').value]);
  if (JSON.stringify(kept) !== JSON.stringify(['custom', day(-1), day(0)]))
    fail('the custom range link: ' + JSON.stringify(kept));
  await page.selectOption('#range', 'week');

  // a table's CSV link gives its rows
  await page.waitForFunction(() => document.getElementById('top-pageview').textContent.includes('/landing'));
  const href = await page.$eval('#csv-pageview', (a) => a.href);
  const csv = await page.evaluate((h) => fetch(h).then((r) => r.text()), href);
  if (csv !== 'dim,n,visitors\r\n/landing,1,1\r\n') fail('csv: ' + JSON.stringify(csv));

  // a phone: everything readable at 390 px, nothing wider than the screen
  await page.setViewportSize({ width: 390, height: 844 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 390) {
    const culprits = await page.evaluate(() => Array.from(document.querySelectorAll('body *'))
      .filter((e) => e.getBoundingClientRect().right > 390 &&
        !Array.from(e.children).some((c) => c.getBoundingClientRect().right > 390))
      .map((e) => e.tagName + '#' + e.id + '.' + e.className + ' ' +
        Math.round(e.getBoundingClientRect().right)).slice(0, 8));
    fail('the page is ' + wide + ' px wide on a 390 px screen: ' + culprits.join(', '));
  }
  await page.screenshot({ path: path.join(artifacts, 'dashboard-phone.png'), fullPage: true });
  console.log('ok');
} finally {
  await browser.close();
}
