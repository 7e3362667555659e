// elmcity's calendar widget: put the events of a hub on any page.
//
//   <script src="https://HOST/services/HUB/embed.js" data-view="music"
//           data-days="7" async></script>
//
// It renders the events after its own <script> element, inside a shadow
// root, so the page's styles do not reach them and theirs do not leak
// out. Options (data-*): view (tags, as the hub page's view=), source,
// days (the window from today, 7 by default), count (at most, 50 by
// default), refresh (minutes between checks for changes, 10 by default;
// 0 for never). It asks the hub's JSON with the ETag it last had, so a
// check that finds no change costs a 304. Dispatching an
// "elmcity:refresh" event at the widget's element checks at once. The
// element carries data-status (the last answer's HTTP status) and
// data-fetches (how many checks it made). Every text is written as text;
// links are the http(s) ones the JSON gives. A cancelled event says
// "Cancelled" before its title, which is struck through.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || !script.src || typeof fetch !== 'function') {
    return;
  }
  var src = new URL(script.src);
  var m = /^\/services\/([A-Za-z0-9_-]{1,64})\/embed\.js$/.exec(src.pathname);
  if (!m) {
    return;
  }
  var hub = m[1];
  var origin = src.origin;
  var opt = script.dataset;
  var query = new URLSearchParams();
  if (opt.view) { query.set('view', opt.view); }
  if (opt.source) { query.set('source', opt.source); }
  query.set('days', /^\d{1,4}$/.test(opt.days || '') ? opt.days : '7');
  query.set('count', /^\d{1,4}$/.test(opt.count || '') ? opt.count : '50');
  var jsonURL = origin + '/services/' + hub + '/json?' + query.toString();
  var page = new URLSearchParams(query);
  page.delete('count');
  var pageURL = origin + '/' + hub + '?' + page.toString();

  var host = document.createElement('div');
  host.className = 'elmcity-embed';
  script.parentNode.insertBefore(host, script.nextSibling);
  var root = host.attachShadow({ mode: 'open' });
  // The page's rules reach the widget's element (the shadow host), and
  // inherited properties would pass from it into the shadow tree: the
  // host's own rules reset them all, !important, which wins over the
  // page's (an important rule of a shadow tree beats the page's).
  var css = ':host{all:initial!important;display:block!important;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif!important;' +
    'color:#1c1c1c!important;background:#fff!important;color-scheme:light!important}' +
    '@media (prefers-color-scheme:dark){:host{color:#e6e6e6!important;background:#141414!important;color-scheme:dark!important}a{color:#8ab4f8}.meta,.credit{color:#a3a7ab}.status{color:#f4b7b2;background:#3d1c1a}}' +
    'h2{font-size:1.05em;margin:.9em 0 .3em;padding-bottom:.2em;border-bottom:2px solid #8884}' +
    'ol{list-style:none;margin:0;padding:0}li{padding:.3em 0;border-bottom:1px solid #8883}' +
    'time{font-weight:600;font-variant-numeric:tabular-nums;margin-right:.4em}a{color:#0b57d0}.title{font-weight:600}' +
    '.meta,.credit{color:#5d6166;display:block;font-size:.92em}.credit{margin-top:.6em}' +
    '.status{color:#a01b14;background:#fdeceb;font-weight:600;font-size:.85em;padding:0 .35em;border-radius:.25em;margin-right:.4em}' +
    '.cancelled .title{text-decoration:line-through}';
  if ('adoptedStyleSheets' in root && typeof CSSStyleSheet === 'function') {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement('style');
    style.textContent = css;
    root.appendChild(style);
  }
  var body = document.createElement('div');
  body.setAttribute('role', 'region');
  root.appendChild(body);

  function el(name, text, cls) {
    var e = document.createElement(name);
    if (text) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function link(href, text, cls) {
    var ok = /^https?:\/\//i.test(href || '');
    var a = el(ok ? 'a' : 'span', text, cls);
    if (ok) { a.href = href; }
    return a;
  }
  function render(cal) {
    var zone = cal.hub && cal.hub.tz;
    var day = new Intl.DateTimeFormat(undefined, { timeZone: zone, weekday: 'long', month: 'long', day: 'numeric' });
    var clock = new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: 'numeric', minute: '2-digit' });
    var key = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' });
    var out = document.createDocumentFragment();
    var title = (cal.hub && cal.hub.title) || hub;
    body.setAttribute('aria-label', 'Events from ' + title);
    var list = null, last = '';
    (cal.events || []).forEach(function (e) {
      var start = e.all_day ? new Date(e.start + 'T12:00:00Z') : new Date(e.start);
      var k = e.all_day ? e.start : key.format(start);
      if (k !== last) {
        last = k;
        out.appendChild(el('h2', e.all_day ? new Intl.DateTimeFormat(undefined, { timeZone: 'UTC', weekday: 'long', month: 'long', day: 'numeric' }).format(start) : day.format(start)));
        list = el('ol');
        out.appendChild(list);
      }
      var li = el('li', '', e.cancelled === true ? 'event cancelled' : 'event');
      var t = el('time', e.all_day ? 'All day' : clock.format(start));
      t.dateTime = e.start;
      li.appendChild(t);
      if (e.cancelled === true) {
        li.appendChild(el('strong', 'Cancelled', 'status'));
      }
      li.appendChild(link(e.url, e.title, 'title'));
      var meta = [e.location, e.sources && e.sources[0] && e.sources[0].name].filter(Boolean).join(' · ');
      if (meta) { li.appendChild(el('span', meta, 'meta')); }
      list.appendChild(li);
    });
    if (!cal.events || cal.events.length === 0) {
      out.appendChild(el('p', 'No upcoming events.'));
    }
    var credit = el('p', 'Events from ', 'credit');
    credit.appendChild(link(pageURL, title));
    out.appendChild(credit);
    body.replaceChildren(out);
  }

  var etag = null, fetches = 0, busy = false;
  function load() {
    if (busy) { return; }
    busy = true;
    var headers = {};
    if (etag) { headers['If-None-Match'] = etag; }
    host.dataset.fetches = String(++fetches);
    fetch(jsonURL, { headers: headers, cache: 'no-store', credentials: 'omit', mode: 'cors' }).then(function (r) {
      host.dataset.status = String(r.status);
      if (r.status === 304) { return null; }
      if (!r.ok) { throw new Error('HTTP ' + r.status); }
      etag = r.headers.get('ETag');
      return r.json().then(render);
    }).catch(function () {
      if (!etag) {
        body.replaceChildren(el('p', 'The events could not be loaded.'));
      }
    }).then(function () {
      busy = false;
      host.dataset.state = 'ready';
    });
  }
  host.addEventListener('elmcity:refresh', load);
  var minutes = /^\d{1,4}$/.test(opt.refresh || '') ? Number(opt.refresh) : 10;
  if (minutes > 0) {
    setInterval(function () {
      if (document.visibilityState !== 'hidden') { load(); }
    }, minutes * 60000);
  }
  load();
})();
