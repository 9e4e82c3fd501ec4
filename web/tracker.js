// SPDX-License-Identifier: Apache-2.0
/* activity-tracker tracker.js: pageviews (history changes included), clicks
 * on [data-track] elements and outbound links, activity.track('search',
 * {query, results}). Events are batched and sent as {sent_at, events}
 * (text/plain, so no CORS preflight); a batch that fails is kept and sent
 * again with the same event_ids. Options on the script tag: data-site,
 * data-endpoint; data-persist: a visitor id and session kept in localStorage
 * (across days: needs the visitor's consent in the EU); data-respect-dnt:
 * send nothing when the browser asks for Global Privacy Control or Do Not
 * Track. By default nothing is stored on the device: the collector makes a
 * visitor id that lasts one day (ingest/visitor.h), and a failed batch is
 * kept in memory. activity.optOut() stores a flag that stops all sending
 * in this browser; activity.optIn() removes it. */
(function (w, d) {
  var s = d.currentScript || {}, A = function (n) { return s.getAttribute && s.getAttribute(n); };
  var endpoint = A('data-endpoint') || (s.src || '').replace(/tracker\.js.*$/, 'v1/events');
  var site = A('data-site') || location.hostname;
  var persist = A('data-persist') != null, mem = {}, queue = [], timer, lastUrl, backoff = 2e3;
  var IDLE = 18e5, RETRY = 'activity_retry', OPTOUT = 'activity_opt_out';
  var dnt = A('data-respect-dnt') != null &&
    (navigator.globalPrivacyControl === true || navigator.doNotTrack == '1' || w.doNotTrack == '1');

  function get(k) {
    try { return persist ? localStorage.getItem(k) : mem[k]; } catch (e) { return mem[k]; }
  }
  function set(k, v) {
    try { if (persist) localStorage.setItem(k, v); else mem[k] = v; } catch (e) { mem[k] = v; }
  }
  function optedOut() {
    try { return dnt || localStorage.getItem(OPTOUT) == '1'; } catch (e) { return dnt; }
  }
  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, function (c) {
      var r = Math.random() * 16 | 0;
      return (c == 'x' ? r : r & 3 | 8).toString(16);
    });
  }
  function cut(v, n) { return v == null ? v : String(v).slice(0, n); }

  function track(type, f) {
    if (optedOut()) return;
    var now = Date.now(), e = { type: type, event_id: uuid(), site: site,
      url: cut(location.href, 2048), ts: new Date(now).toISOString() };
    if (persist) {
      var aid = get('activity_aid'), sid = get('activity_sid');
      if (!aid) set('activity_aid', aid = uuid());
      if (!sid || now - (+get('activity_last') || 0) > IDLE) set('activity_sid', sid = uuid());
      set('activity_last', '' + now);
      e.anonymous_id = aid;
      e.session_id = sid;
    }
    if (d.title) e.title = cut(d.title, 512);
    if (type == 'pageview' && d.referrer) e.referrer = cut(d.referrer, 2048);
    for (var k in f || {}) e[k] = typeof f[k] == 'string' ? cut(f[k], 512) : f[k];
    queue.push(e);
    clearTimeout(timer);
    timer = setTimeout(flush, queue.length >= 20 ? 0 : 1000);
  }

  function pending() { try { return JSON.parse(get(RETRY) || '[]'); } catch (e) { return []; } }
  /* a batch the collector did not take goes again with the next one, or
   * on its own after a pause that doubles up to a minute */
  function keep(events) {
    set(RETRY, JSON.stringify(pending().concat(events).slice(-200)));
    clearTimeout(timer);
    timer = setTimeout(flush, backoff);
    backoff = Math.min(backoff * 2, 6e4);
  }

  /* unloading: sendBeacon, which outlives the page; otherwise fetch, whose
   * answer says whether to keep the batch for another try */
  function flush(unloading) {
    var events = pending().concat(queue);
    queue = [];
    set(RETRY, '[]');
    if (!events.length || optedOut()) return;
    var body = JSON.stringify({ sent_at: new Date().toISOString(), events: events });
    if (unloading === true && navigator.sendBeacon &&
        navigator.sendBeacon(endpoint, new Blob([body], { type: 'text/plain' }))) return;
    if (!w.fetch) return keep(events);
    fetch(endpoint, { method: 'POST', body: body, keepalive: body.length < 6e4,
      headers: { 'Content-Type': 'text/plain' } })
      .then(function (r) {
        if (r.status >= 500 || r.status == 429) keep(events); else backoff = 2e3;
      }, function () { keep(events); });
  }

  function pageview() {
    if (location.href == lastUrl) return;
    lastUrl = location.href;
    track('pageview');
  }

  d.addEventListener('click', function (ev) {
    var el = ev.target && ev.target.closest && ev.target.closest('[data-track],a[href]');
    if (!el) return;
    var name = el.getAttribute('data-track');
    if (name) track('click', { target: name, text: cut((el.innerText || '').trim(), 200) || undefined,
      href: el.href || undefined });
    else if (el.hostname && el.hostname != location.hostname)
      track('click', { target: 'outbound:' + el.hostname, href: cut(el.href, 2048) });
  }, true);

  ['pushState', 'replaceState'].forEach(function (m) {
    var orig = history[m];
    history[m] = function () { var r = orig.apply(this, arguments); pageview(); return r; };
  });
  w.addEventListener('popstate', pageview);
  w.addEventListener('pagehide', function () { flush(true); });
  d.addEventListener('visibilitychange', function () {
    if (d.visibilityState == 'hidden') flush(true);
  });

  function optOut() {
    try { localStorage.setItem(OPTOUT, '1'); } catch (e) { dnt = true; }
    queue = [];
    set(RETRY, '[]');
  }
  function optIn() {
    try { localStorage.removeItem(OPTOUT); } catch (e) { /* nothing stored */ }
  }

  w.activity = { track: track, flush: flush, pageview: pageview, optOut: optOut, optIn: optIn };
  pageview();
})(window, document);
