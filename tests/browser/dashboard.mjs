// SPDX-License-Identifier: Apache-2.0
// Browser test: a real (Debian) Chromium browses the demo site, whose
// tracker.js sends to a real ingest; a dashboard opened before any of it
// must show exactly those counts (events, and the one visit they make)
// without a reload, its tabs the visit's pages, source and device, a tab
// chosen must survive a reload of the URL, and a search text that is HTML
// must stay text. With ZONE (the demo site's --site-tz), the chart says it
// shows that zone's time. Usage: node dashboard.mjs WEB_URL ARTIFACT_DIR [ZONE]
import { UA, fail, launch } from './browser.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [webUrl, artifacts, zone] = process.argv.slice(2);
const XSS = '<img src=x onerror=alert(1)>';


const browser = await launch();
try {
  fs.mkdirSync(artifacts, { recursive: true });
  const context = await browser.newContext({ userAgent: UA, viewport: { width: 1280, height: 1000 } });
  const dialogs = [];
  context.on('page', (p) => p.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); }));

  const dash = await context.newPage();
  await dash.goto(webUrl + '?site=demo');
  await dash.evaluate(() => { window.__sameDocument = true; });

  const demo = await context.newPage();
  await demo.goto(webUrl + 'demo/index.html');                     // pageview 1
  await demo.waitForFunction(() => window.activity);
  await demo.click('#signup');                                      // click 1
  await demo.click('#nav-products');                                // pageview 2
  await demo.waitForFunction(() => window.activity);
  await demo.click('#buy-red');                                     // click 2
  await demo.click('#buy-blue');                                    // click 3
  await demo.fill('#q', 'shoes');
  await demo.click('#search-button');                               // search 1 (1 result)
  await demo.fill('#q', XSS);
  await demo.click('#search-button');                               // search 2 (0 results)
  await demo.click('#open-cart');                                   // pageview 3 (history)
  await demo.evaluate(() => window.activity.flush());
  await demo.screenshot({ path: path.join(artifacts, 'demo.png') });

  const want = { pageview: '3', click: '3', search: '2', visit: '1', bounce_rate: '0 %' };
  try {
    await dash.waitForFunction((w) => Object.keys(w).every((k) =>
      document.getElementById('card-' + k).textContent === w[k]), want, { timeout: 60000 });
    await dash.click('#tab-zero_result_search');
    await dash.waitForFunction((x) =>
      document.getElementById('top-zero_result_search').textContent.includes(x), XSS,
      { timeout: 15000 });
  } finally {
    await dash.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
  }
  const seen = await dash.evaluate(() => ({
    same: window.__sameDocument === true,
    cards: ['pageview', 'click', 'search', 'uniques'].map((k) =>
      document.getElementById('card-' + k).textContent),
    pages: document.getElementById('top-pageview').textContent,
    targets: document.getElementById('top-click').textContent,
    images: document.querySelectorAll('main img').length,
    site: document.getElementById('site').value,
  }));
  console.log(JSON.stringify(seen));
  if (!seen.same) fail('the dashboard reloaded');
  if (seen.site !== 'demo') fail('site picker shows ' + seen.site);
  if (seen.cards[3] !== '1') fail('unique visitors: ' + seen.cards[3]);
  // each row: the value, its visitors (one person), its count
  if (!seen.pages.startsWith('VisitorsPageviews') ||
      !seen.pages.includes('/demo/products.html12') || !seen.pages.includes('/demo/index.html11'))
    fail('top pages: ' + seen.pages);
  if (!seen.targets.includes('add-to-cart12') || !seen.targets.includes('newsletter-signup11'))
    fail('click targets: ' + seen.targets);
  if (seen.images !== 0) fail('event text became HTML: ' + seen.images + ' <img> in the page');

  // the visit's tabs: where it entered and left, where from, on what
  const tabText = async (type, text) => {
    await dash.click('#tab-' + type);
    await dash.waitForFunction(([t, x]) => {
      const table = document.getElementById('top-' + t);
      return !table.hidden && table.textContent.includes(x);
    }, [type, text], { timeout: 15000 });
  };
  await tabText('entry', '/demo/index.html11');
  await tabText('source', '(direct)11');
  await tabText('browser', 'Chrome11');
  await tabText('os', 'Linux11');
  await tabText('device', 'desktop11');
  // exit pages have no visitors column (a visit's exit moves on)
  await tabText('exit', 'Visits/demo/products.html1');
  const durationShown = await dash.textContent('#card-visit_duration');
  if (!/^\d+(m \d+)?s$/.test(durationShown)) fail('visit duration card: ' + durationShown);
  // the chosen tabs are in the URL, and the URL brings them back
  const url = dash.url();
  // (a panel on its first tab adds nothing)
  if (!url.includes('pages=exit') || url.includes('devices=')) fail('tabs in the URL: ' + url);
  await dash.goto(url);
  await dash.waitForFunction(() =>
    document.getElementById('tab-exit').getAttribute('aria-selected') === 'true' &&
    !document.getElementById('top-exit').hidden &&
    document.getElementById('top-entry').hidden &&
    document.getElementById('top-exit').textContent.includes('/demo/products.html'),
  null, { timeout: 15000 });
  const csv = await dash.$eval('#csv-exit', (a) => a.href);
  if (!csv.includes('type=exit') || !csv.includes('format=csv')) fail('exit CSV link: ' + csv);
  if (dialogs.length) fail('a script ran: dialog ' + JSON.stringify(dialogs));
  if (zone) {
    const note = await dash.textContent('#granularity');
    if (!note.includes(zone)) fail('the chart does not say its zone: ' + note);
  }
  console.log('ok');
} finally {
  await browser.close();
}
