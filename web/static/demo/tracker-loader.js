// SPDX-License-Identifier: Apache-2.0
/* Loads tracker.js from the collector whose URL activity-web serves in
 * config.js (its --collector flag), with the demo's site name. */
(function () {
  var s = document.createElement('script');
  s.src = window.ACTIVITY_COLLECTOR + 'tracker.js';
  s.setAttribute('data-site', 'demo');
  document.head.appendChild(s);
})();
