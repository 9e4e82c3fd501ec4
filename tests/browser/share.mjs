// SPDX-License-Identifier: Apache-2.0
// Browser test: a read-only share link, opened in a browser that has no
// access token, shows that site's dashboard (and only that site in the
// picker); another site's figures stay refused. Usage:
// node share.mjs WEB_URL SHARE_PATH SITE OTHER_SITE
import { fail, launch } from './browser.mjs';

const [webUrl, link, site, other] = process.argv.slice(2);

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(webUrl + link.replace(/^\//, ''));
  await page.waitForFunction((s) => document.getElementById('site').value === s, site);
  await page.waitForFunction(() => document.getElementById('card-pageview').textContent === '1',
    null, { timeout: 30000 });
  const options = await page.$$eval('#site option', (os) => os.map((o) => o.value));
  if (JSON.stringify(options) !== JSON.stringify([site])) fail('site picker: ' + options);
  const refused = await page.evaluate((o) =>
    fetch('/api/v1/summary?site=' + encodeURIComponent(o)).then((r) => r.status), other);
  if (refused !== 403) fail('another site answered ' + refused);
  console.log('ok');
} finally {
  await browser.close();
}
