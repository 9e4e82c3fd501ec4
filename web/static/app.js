// SPDX-License-Identifier: Apache-2.0
/* The dashboard: plain DOM, no build step. Everything that comes from an
 * event (paths, click targets, search text) is attacker-controlled and is
 * only ever set as textContent, never parsed as HTML. */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var SVG = 'http://www.w3.org/2000/svg', TYPES = ['visit', 'pageview', 'click', 'search'];
  /* The top lists, a panel of tabs each; a panel's tab is in the URL
   * (?pages=entry), the first one by default. */
  var PANELS = {
    pages: [['pageview', 'Top pages'], ['entry', 'Entry pages'], ['exit', 'Exit pages']],
    sources: [['source', 'Referrers'], ['utm_source', 'UTM source'], ['utm_medium', 'UTM medium'],
              ['utm_campaign', 'UTM campaign']],
    devices: [['device', 'Devices'], ['browser', 'Browsers'], ['os', 'Systems']],
    events: [['click', 'Click targets'], ['search', 'Searches'],
             ['zero_result_search', 'No results']]
  };
  var tab = {}; /* panel -> its tab's type */
  var live = null, refreshing = false, again = false, zones = {};

  function query(params) {
    return Object.keys(params).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]);
    }).join('&');
  }

  function api(path, params) {
    var q = query(params);
    return fetch('/api/v1/' + path + (q ? '?' + q : ''), { credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) return r.json().then(function (e) { throw new Error(e.error || r.status); });
        return r.json();
      });
  }

  /* The site's time zone (activity-web --site-tz; UTC unless set): its
   * days are what "today" and dates mean, and what the labels show. */
  function zone() { return zones[$('site').value] || 'UTC'; }

  /* Today's date where the site is, and a date k days from a date. */
  function today() { return new Intl.DateTimeFormat('en-CA', { timeZone: zone() }).format(new Date()); }
  function addDays(date, k) {
    return new Date(Date.parse(date) + k * 864e5).toISOString().slice(0, 10);
  }

  /* Days are sent as dates, which the API takes as the site's midnights. */
  function range() {
    var now = Math.floor(Date.now() / 1000), day = today();
    switch ($('range').value) {
      case 'hour': return { from: now - now % 60 - 3540, to: now - now % 60 + 60, granularity: 'minute' };
      case 'week': return { from: addDays(day, -6), to: addDays(day, 1), granularity: 'hour' };
      case '30d': return { from: addDays(day, -29), to: addDays(day, 1), granularity: 'day' };
      case 'custom': return customRange(day);
      default: return { from: day, to: addDays(day, 1), granularity: 'hour' };
    }
  }

  /* The site and range every answer of the page is asked for. */
  function rangeParams(r) { return { site: $('site').value, from: r.from, to: r.to }; }

  /* whole days, both ends included; hours up to a week, else days */
  function customRange(day) {
    var from = $('from').value, to = $('to').value;
    if (!(Date.parse(from) <= Date.parse(to))) from = to = day;
    return { from: from, to: addDays(to, 1),
             granularity: Date.parse(to) - Date.parse(from) < 7 * 864e5 ? 'hour' : 'day' };
  }

  /* A bucket's time where the site is: 'MM-DD', 'HH:MM', or both. */
  function when(t, parts) {
    var o = { timeZone: zone(), hourCycle: 'h23' };
    if (parts !== 'time') { o.month = '2-digit'; o.day = '2-digit'; }
    if (parts !== 'date') { o.hour = '2-digit'; o.minute = '2-digit'; }
    var f = {};
    new Intl.DateTimeFormat('en-US', o).formatToParts(new Date(t * 1000))
      .forEach(function (p) { f[p.type] = p.value; });
    var date = f.month + '-' + f.day, time = f.hour + ':' + f.minute;
    return parts === 'date' ? date : parts === 'time' ? time : date + ' ' + time;
  }

  function fmt(n) { return Number(n).toLocaleString('en-US'); }

  /* a card's value: counts, a share (bounce rate) or seconds (visit duration) */
  function cardText(key, v) {
    if (v === null || v === undefined) return '–';
    if (key === 'bounce_rate') return Math.round(100 * v) + ' %';
    if (key === 'visit_duration') {
      var secs = Math.round(v);
      return secs < 60 ? secs + 's' : Math.floor(secs / 60) + 'm ' + (secs % 60) + 's';
    }
    return fmt(v);
  }

  /* against the period of equal length just before; a share moves in points */
  function change(key, now, before) {
    if (key === 'bounce_rate') {
      if (now === null || before === null) return '';
      var pts = Math.round(100 * (now - before));
      return (pts > 0 ? '+' : pts < 0 ? '−' : '±') + Math.abs(pts) + ' pts vs the period before';
    }
    if (!before) return now ? 'new vs the period before' : '';
    var pct = Math.round(100 * (now - before) / before);
    return (pct > 0 ? '+' : pct < 0 ? '−' : '±') + Math.abs(pct) + ' % vs the period before';
  }

  function setStatus(text, isLive) {
    $('status').textContent = text;
    $('status').className = 'status' + (isLive ? ' live' : '');
  }

  /* What a top list's numbers count: events of its type, or visits. */
  var UNITS = { pageview: 'Pageviews', click: 'Clicks', search: 'Searches',
                zero_result_search: 'Searches' };

  /* A top list: the value, its distinct visitors (all but exit pages have
   * them) and its count. */
  function fillTable(table, items, type) {
    table.textContent = '';
    if (!items.length) {
      var td = table.insertRow().insertCell();
      td.className = 'empty';
      td.textContent = 'nothing yet';
      return;
    }
    var visitors = 'visitors' in items[0], head = table.createTHead().insertRow();
    function cell(row, text) {
      var c = document.createElement(row === head ? 'th' : 'td');
      c.className = 'n';
      c.textContent = text;
      row.appendChild(c);
    }
    head.appendChild(document.createElement('th'));
    if (visitors) cell(head, 'Visitors');
    cell(head, UNITS[type] || 'Visits');
    items.forEach(function (it) {
      var row = table.insertRow();
      row.insertCell().textContent = it.dim;
      if (visitors) cell(row, it.visitors === null ? '–' : fmt(it.visitors));
      cell(row, fmt(it.n));
    });
  }

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    parent.appendChild(e);
    return e;
  }

  var drawn = null; /* the chart's last arguments, to draw again at a new width */

  function drawChart(series, g) {
    drawn = [series, g];
    /* drawn at the width it is shown at, so its text stays readable on a phone */
    var svg = $('chart'), W = Math.max(300, Math.round(svg.getBoundingClientRect().width) || 900);
    var H = 260, L = 50, B = 24, T = 10;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.textContent = '';
    var pts = series[0].points, max = 1;
    series.forEach(function (s) { s.points.forEach(function (p) { max = Math.max(max, p[1] || 0); }); });
    var x = function (i) { return L + (W - L - 10) * (pts.length > 1 ? i / (pts.length - 1) : 0.5); };
    var y = function (v) { return H - B - (H - B - T) * v / max; };
    el('line', { x1: L, y1: H - B, x2: W - 10, y2: H - B, class: 'axis' }, svg);
    [0, 0.5, 1].forEach(function (f) {
      var v = Math.round(max * f);
      el('line', { x1: L, y1: y(v), x2: W - 10, y2: y(v), class: 'axis' }, svg);
      el('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, svg).textContent = fmt(v);
    });
    /* labels every whole number of buckets that fits (3 hours, not 2.875),
     * as many as the width holds */
    var room = Math.max(2, Math.floor(W / 110)), steps = {
      minute: [1, 2, 5, 10, 15, 30, 60], hour: [1, 2, 3, 4, 6, 12, 24, 48, 72, 96, 168],
      day: [1, 2, 7, 14, 28, 56, 91, 182, 364] }[g] || [1];
    var step = steps.filter(function (k) { return Math.ceil(pts.length / k) <= room; })[0] ||
      Math.ceil(pts.length / room);
    for (var i = 0; i < pts.length; i += step) {
      var label = when(pts[i][0], g === 'day' ? 'date' : g === 'hour' && pts.length > 24 ? 'both' : 'time');
      /* the end labels inside the chart, not cut at its edges */
      var anchor = i === 0 ? 'start' : x(i) > W - 50 ? 'end' : 'middle';
      el('text', { x: x(i), y: H - 6, 'text-anchor': anchor }, svg).textContent = label;
    }
    /* a null point is a bucket retention deleted, and a bucket that has not
     * begun is no zero: the line stops at both; each point says its value */
    var now = Date.now() / 1000;
    series.forEach(function (s, k) {
      var run = [];
      s.points.concat([[Infinity, null]]).forEach(function (p, i) {
        if (p[1] !== null && p[0] <= now) {
          var dot = el('circle', { class: s.type, cx: x(i).toFixed(1), cy: y(p[1]).toFixed(1), r: 3 }, svg);
          el('title', {}, dot).textContent = when(p[0], 'both') + ': ' + fmt(p[1]) + ' ' + s.type +
            (p[1] == 1 ? '' : 's');
          return run.push(x(i).toFixed(1) + ',' + y(p[1]).toFixed(1));
        }
        /* each series thinner than the one before: equal values stay visible */
        if (run.length) el('polyline', { class: s.type, points: run.join(' '),
                                         'stroke-width': 5 - 1.2 * k }, svg);
        run = [];
      });
    });
  }

  /* Answers that reach back past what the aggregator keeps say so; the
   * page says from when its figures are complete. */
  function showPartial(answers) {
    var from = 0;
    answers.forEach(function (a) { if (a.partial) from = Math.max(from, a.available_from); });
    $('partial').hidden = !from;
    if (from) $('partial').textContent = 'Older data is no longer kept at this detail: figures ' +
      'on this page are complete from ' + new Date(from * 1000).toISOString().slice(0, 16)
        .replace('T', ' ') + ' UTC.';
  }

  function refresh() {
    var site = $('site').value;
    if (!site) return Promise.resolve();
    if (refreshing) { again = true; return Promise.resolve(); }
    refreshing = true;
    var r = range(), base = rangeParams(r), answers = [];
    var keep = function (a) { answers.push(a); return a; };
    var jobs = [api('summary', Object.assign({ compare: 'previous' }, base)).then(keep).then(function (s) {
      TYPES.concat(['uniques', 'bounce_rate', 'visit_duration']).forEach(function (t) {
        $('card-' + t).textContent = cardText(t, s[t]);
        $('delta-' + t).textContent = change(t, s[t], s.previous[t]);
      });
      $('card-active').textContent = fmt(s.active);
      $('bots').hidden = !s.bots;
      $('bots').textContent = fmt(s.bots) + (s.bots == 1 ? ' event' : ' events') +
        ' from bots and crawlers in this range, left out of every figure on this page.';
    })];
    jobs.push(Promise.all(TYPES.map(function (t) {
      return api('timeseries', Object.assign({ type: t, granularity: r.granularity }, base)).then(keep);
    })).then(function (series) {
      $('granularity').textContent = '(' + r.granularity + ' buckets, ' + zone() + ')';
      drawChart(series, r.granularity);
    }));
    Object.keys(PANELS).forEach(function (panel) {
      jobs.push(fillTop(tab[panel], base).then(keep));
    });
    jobs = Promise.all(jobs).then(function () { showPartial(answers); });
    return jobs.catch(function (e) { setStatus('error: ' + e.message, false); })
      .then(function () {
        refreshing = false;
        if (again) { again = false; refresh(); }
      });
  }

  /* One top list into its table, with its CSV link. */
  function fillTop(t, base) {
    var params = Object.assign({ type: t, limit: 10 }, base);
    $('csv-' + t).href = '/api/v1/top?' + query(Object.assign({}, params, { limit: 1000, format: 'csv' }));
    return api('top', params).then(function (top) {
      fillTable($('top-' + t), top.items, t);
      return top;
    });
  }

  /* The panels' tabs, each with its table (hidden unless chosen). */
  function buildPanels(wanted) {
    Object.keys(PANELS).forEach(function (panel) {
      var box = document.querySelector('[data-panel="' + panel + '"]');
      var bar = document.createElement('div');
      bar.className = 'tabs';
      bar.setAttribute('role', 'tablist');
      box.appendChild(bar);
      tab[panel] = PANELS[panel].some(function (t) { return t[0] === wanted.get(panel); })
        ? wanted.get(panel) : PANELS[panel][0][0];
      PANELS[panel].forEach(function (t) {
        var b = document.createElement('button'), table = document.createElement('table');
        b.id = 'tab-' + t[0];
        b.setAttribute('role', 'tab');
        b.textContent = t[1];
        b.addEventListener('click', function () {
          tab[panel] = t[0];
          showTabs();
          saveView();
          fillTop(t[0], rangeParams(range()))
            .catch(function (e) { setStatus('error: ' + e.message, false); });
        });
        bar.appendChild(b);
        table.id = 'top-' + t[0];
        box.appendChild(table);
      });
      PANELS[panel].forEach(function (t) { /* after the tabs: the chosen one's, at the right */
        var a = document.createElement('a');
        a.id = 'csv-' + t[0];
        a.className = 'csv';
        a.textContent = 'CSV';
        a.setAttribute('download', '');
        bar.appendChild(a);
      });
    });
    showTabs();
  }

  function showTabs() {
    Object.keys(PANELS).forEach(function (panel) {
      PANELS[panel].forEach(function (t) {
        var on = tab[panel] === t[0];
        $('tab-' + t[0]).setAttribute('aria-selected', on ? 'true' : 'false');
        $('csv-' + t[0]).hidden = !on;
        $('top-' + t[0]).hidden = !on;
      });
    });
  }

  /* The live stream pushes today's summary every second; a change in it
   * is what makes the page fetch the rest again. */
  function connect() {
    if (live) live.close();
    var site = $('site').value, last = '';
    if (!site) return;
    live = new EventSource('/api/v1/live?site=' + encodeURIComponent(site));
    live.addEventListener('summary', function (ev) {
      setStatus('live', true);
      var s = JSON.parse(ev.data);
      if (s.error) return setStatus('error: ' + s.error, false);
      $('card-active').textContent = fmt(s.active);
      var key = [s.pageview, s.click, s.search, s.zero_result_search, s.uniques, s.visit,
                 s.bounce, s.visit_ms].join();
      if (key !== last) { last = key; refresh(); }
    });
    live.onerror = function () { setStatus('reconnecting…', false); };
  }

  /* The view lives in the URL (?site=...&range=...&pages=exit), so a link
   * shows it again. */
  function saveView() {
    var view = { site: $('site').value, range: $('range').value };
    $('custom').hidden = view.range !== 'custom';
    if (view.range === 'custom') { view.from = $('from').value; view.to = $('to').value; }
    Object.keys(PANELS).forEach(function (panel) {
      if (tab[panel] !== PANELS[panel][0][0]) view[panel] = tab[panel];
    });
    var q = query(view);
    history.replaceState(null, '', location.pathname + '?' + q);
  }

  /* A fresh install: the snippet to add, until the first event arrives. */
  function firstRun(empty) {
    $('first-run').hidden = !empty;
    document.body.classList.toggle('empty', empty);
    if (!empty) return;
    $('snippet').textContent = '<script src="' + (window.ACTIVITY_COLLECTOR || '/') +
      'tracker.js" data-site="' + location.hostname + '" async></script>';
    setStatus('waiting for the first event', false);
  }

  function loadSites() {
    return api('sites', {}).then(function (r) {
      var sel = $('site'), wanted = new URLSearchParams(location.search).get('site') || sel.value;
      firstRun(!r.sites.length);
      zones = r.time_zones || {};
      if (r.sites.join() === Array.prototype.map.call(sel.options, function (o) { return o.value; }).join()) return;
      sel.textContent = '';
      r.sites.forEach(function (s) {
        var o = document.createElement('option');
        o.value = s;
        o.textContent = s;
        sel.appendChild(o);
      });
      if (r.sites.indexOf(wanted) >= 0) sel.value = wanted;
      saveView();
      connect();
      refresh();
    });
  }

  var wanted = new URLSearchParams(location.search), wantedRange = wanted.get('range');
  buildPanels(wanted);
  if (wantedRange && $('range').querySelector('option[value="' + CSS.escape(wantedRange) + '"]'))
    $('range').value = wantedRange;
  $('from').value = wanted.get('from') || today();
  $('to').value = wanted.get('to') || today();
  $('custom').hidden = $('range').value !== 'custom';
  ['from', 'to'].forEach(function (id) {
    $(id).addEventListener('change', function () { saveView(); refresh(); });
  });
  window.addEventListener('resize', function () { if (drawn) drawChart(drawn[0], drawn[1]); });
  $('site').addEventListener('change', function () { saveView(); connect(); refresh(); });
  $('range').addEventListener('change', function () { saveView(); refresh(); });
  loadSites().catch(function (e) { setStatus('error: ' + e.message, false); });
  setInterval(function () { loadSites().catch(function () {}); }, 5000);
})();
