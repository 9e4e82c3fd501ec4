// SPDX-License-Identifier: Apache-2.0
// Browser test of tracker.js's privacy defaults on the demo site: the
// default tracker sends no visitor id and leaves nothing in the browser
// (no localStorage, sessionStorage or cookie); activity.optOut() stops all
// sending until optIn(); with data-respect-dnt, Global Privacy Control
// stops it. Prints the event_ids sent. Usage: node privacy.mjs WEB_URL
import { UA, fail, launch } from './browser.mjs';
const [webUrl] = process.argv.slice(2);

const browser = await launch();
try {
  const context = await browser.newContext({ userAgent: UA });
  const sent = [];
  context.on('request', (req) => {
    if (req.method() === 'POST' && req.url().endsWith('/v1/events'))
      for (const e of JSON.parse(req.postData()).events) sent.push(e);
  });
  const waitFor = async (what, cond) => {
    for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
    if (!cond()) fail('timed out waiting for ' + what + ': ' + JSON.stringify(sent));
  };
  const stored = (page) => page.evaluate(() => ({
    local: Object.keys(localStorage), session: Object.keys(sessionStorage), cookie: document.cookie,
  }));

  // default: events without ids, nothing stored
  const page = await context.newPage();
  await page.goto(webUrl + 'demo/index.html');
  await page.waitForFunction(() => window.activity);
  await page.click('#signup');
  await page.evaluate(() => window.activity.flush());
  await waitFor('a pageview and a click', () => sent.length >= 2);
  for (const e of sent)
    if ('anonymous_id' in e || 'session_id' in e) fail('an id was sent: ' + JSON.stringify(e));
  let s = await stored(page);
  if (s.local.length || s.session.length || s.cookie)
    fail('the default tracker stored something: ' + JSON.stringify(s));

  // opted out: nothing is sent; the flag is the one thing stored
  await page.evaluate(() => window.activity.optOut());
  const before = sent.length;
  await page.click('#signup');
  await page.evaluate(() => window.activity.flush());
  s = await stored(page);
  if (JSON.stringify(s.local) !== '["activity_opt_out"]') fail('after optOut: ' + JSON.stringify(s));
  await page.evaluate(() => { window.activity.optIn(); window.activity.track('click', { target: 'after-opt-in' }); });
  await page.evaluate(() => window.activity.flush());
  await waitFor('the click after optIn', () => sent.some((e) => e.target === 'after-opt-in'));
  if (sent.slice(before).some((e) => e.target === 'newsletter-signup'))
    fail('a click was sent while opted out');

  // Global Privacy Control with data-respect-dnt: nothing at all
  const gpc = await browser.newContext({ userAgent: UA });
  await gpc.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl',
    { get: () => true }));
  let gpcPosts = 0;
  gpc.on('request', (req) => { if (req.url().endsWith('/v1/events')) gpcPosts++; });
  const p2 = await gpc.newPage();
  await p2.goto(webUrl + 'demo/index.html?respect-dnt');
  await p2.waitForFunction(() => window.activity);
  await p2.click('#signup');
  await p2.evaluate(() => window.activity.flush());
  // a page without the option in the same context does send: the check is live
  const p3 = await gpc.newPage();
  await p3.goto(webUrl + 'demo/index.html');
  await p3.waitForFunction(() => window.activity);
  await p3.evaluate(() => window.activity.flush());
  await waitFor('the page without data-respect-dnt', () => gpcPosts > 0);
  const fromDnt = await p2.evaluate(() => performance.getEntriesByType('resource')
    .filter((r) => r.name.endsWith('/v1/events')).length);
  if (fromDnt) fail('the data-respect-dnt page sent ' + fromDnt + ' requests under GPC');
  console.log(JSON.stringify(sent.map((e) => e.type + ':' + (e.target || ''))));
} finally {
  await browser.close();
}
