// SPDX-License-Identifier: Apache-2.0
// tracker.js keeps a batch the collector did not take (here: one 503) and
// sends it again, same event_ids, with the next one; with data-persist it
// keeps it in localStorage. Usage: node retry.mjs WEB_URL
import { UA, launch } from './browser.mjs';
const [webUrl] = process.argv.slice(2);
const browser = await launch();
try {
  const context = await browser.newContext({ userAgent: UA });
  const posts = [];
  await context.route('**/v1/events', async (route) => {
    const body = JSON.parse(route.request().postData());
    posts.push(body.events.map((e) => e.type + ':' + e.event_id));
    if (posts.length === 1)
      await route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"test"}' });
    else
      await route.continue();
  });
  const page = await context.newPage();
  await page.goto(webUrl + 'demo/products.html?persist');
  await page.waitForFunction(() => window.activity);
  await page.evaluate(() => window.activity.flush());
  await page.waitForFunction(() => (localStorage.getItem('activity_retry') || '[]') !== '[]');
  // The stored batch goes again either with the next batch or on the
  // tracker's own timer, whichever comes first on a busy machine: wait for
  // the states, not for a count of POSTs.
  const waitFor = async (what, cond) => {
    for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
    if (!cond()) throw new Error('timed out waiting for ' + what + ': ' + JSON.stringify(posts));
  };
  await page.fill('#q', 'hat');
  await page.click('#search-button');
  await page.evaluate(() => window.activity.flush());
  const failed = posts[0][0];
  await waitFor('the failed pageview to be sent again', () =>
    posts.slice(1).some((p) => p.includes(failed)));
  await waitFor('the search', () => posts.some((p) => p.some((e) => e.startsWith('search:'))));
  await page.waitForFunction(() => (localStorage.getItem('activity_retry') || '[]') === '[]');
  console.log(JSON.stringify(posts));
  if (posts[0].length !== 1 || !failed.startsWith('pageview:'))
    throw new Error('first POST: ' + posts[0]);
  // (sent again more than once is allowed: same event_id, and the caller
  // checks that the counters have it once)
} finally {
  await browser.close();
}
