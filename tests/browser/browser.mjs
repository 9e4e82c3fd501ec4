// SPDX-License-Identifier: Apache-2.0
// What every browser test starts with: Debian's Chromium (or $CHROMIUM)
// through playwright-core, with a desktop Chrome's user agent, since
// "HeadlessChrome" is flagged as a bot. Set browser-wide too: sendBeacon
// requests ignore a context's override.
import { chromium } from 'playwright-core';

export const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
                  'Chrome/156.0.0.0 Safari/537.36';

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--user-agent=' + UA],
  });
}

export function fail(msg) { throw new Error(msg); }
