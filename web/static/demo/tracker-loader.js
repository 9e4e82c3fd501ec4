// SPDX-License-Identifier: Apache-2.0
/* Loads tracker.js from the collector whose URL activity-web serves in
 * config.js (its --collector flag), with the demo's site name. The page's
 * query string can try the tracker's options: ?persist, ?respect-dnt. */
(function () {
  var s = document.createElement('script'), q = new URLSearchParams(location.search);
  s.src = window.ACTIVITY_COLLECTOR + 'tracker.js';
  s.setAttribute('data-site', 'demo');
  ['persist', 'respect-dnt'].forEach(function (o) { if (q.has(o)) s.setAttribute('data-' + o, ''); });
  document.head.appendChild(s);
})();
