// tracker.js keeps a batch the collector did not take (here: one 503) and
// sends it again, same event_ids, with the next one. Usage: node retry.mjs WEB_URL
import { chromium } from 'playwright-core';

const [webUrl] = process.argv.slice(2);
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
           'Chrome/156.0.0.0 Safari/537.36';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--user-agent=' + UA],
});
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
  await page.goto(webUrl + 'demo/products.html');
  await page.waitForFunction(() => window.activity);
  await page.evaluate(() => window.activity.flush());
  await page.waitForFunction(() => (localStorage.getItem('activity_retry') || '[]') !== '[]');
  await page.fill('#q', 'hat');
  await page.click('#search-button');
  await page.evaluate(() => window.activity.flush());
  for (let i = 0; i < 50 && posts.length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  console.log(JSON.stringify(posts));
  if (posts.length !== 2) throw new Error('expected two POSTs, saw ' + posts.length);
  if (!posts[1].includes(posts[0][0])) throw new Error('the failed pageview was not sent again');
  if (posts[1].length !== 2) throw new Error('second POST: ' + posts[1]);
} finally {
  await browser.close();
}
