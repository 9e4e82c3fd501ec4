// SPDX-License-Identifier: Apache-2.0
// Browser test: a dashboard over a range that reaches before what the
// aggregator keeps says from when its figures are complete, and its chart
// stops where the deleted buckets are instead of drawing them as zeros.
// Usage: node partial.mjs WEB_URL SITE ARTIFACT_DIR
import { fail, launch } from './browser.mjs';
import fs from 'node:fs';
import path from 'node:path';

const [webUrl, site, artifacts] = process.argv.slice(2);


const browser = await launch();
try {
  fs.mkdirSync(artifacts, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(webUrl + '?site=' + encodeURIComponent(site));
  await page.waitForFunction(() => document.getElementById('site').value);
  // the last hour, by the minute, with minutes kept for 10 minutes
  await page.selectOption('#range', 'hour');
  await page.waitForFunction(() => !document.getElementById('partial').hidden, null, { timeout: 30000 });
  const note = await page.locator('#partial').textContent();
  if (!/complete from \d{4}-\d\d-\d\d \d\d:\d\d UTC/.test(note)) fail('note: ' + note);
  // every series is cut where retention deleted its minutes: one line each,
  // starting well right of the chart's left edge (the hour's first minutes)
  const lines = await page.$$eval('#chart polyline', (ps) => ps.map((p) => p.getAttribute('points')));
  if (lines.length !== 4) fail('expected one line per series, got ' + lines.length);
  for (const l of lines) {
    const firstX = parseFloat(l.split(' ')[0]);
    if (!(firstX > 400)) fail('a line starts at x=' + firstX + ': deleted minutes drawn');
  }
  await page.screenshot({ path: path.join(artifacts, 'dashboard-partial.png') });
  console.log('partial note: ' + note);
} finally {
  await browser.close();
}
