// lib/logformat.js: read one type of a hub's log entries and render them
// as text/plain, newest first. Shared by services/log_info.js and
// services/log_exception.js.
//
// Query parameters (all optional):
//   since, until  an RFC 3339 time, a date (2024-05-01) or a duration
//                 such as "24h" meaning that long ago
//   include       comma-separated substrings; keep entries with any of them
//   exclude       comma-separated substrings; drop entries with any of them
//   limit         the most entries to show, default 200, at most 5000
"use strict";

var DEFAULT_LIMIT = 200;
var MAX_LIMIT = 5000;

// list splits a comma-separated parameter into trimmed, non-empty items.
function list(s) {
  if (!s) {
    return [];
  }
  return String(s).split(",").map(function (x) { return x.trim(); }).filter(function (x) { return x !== ""; });
}

// query builds the readLog query for one entry type from the params.
function query(type, params) {
  var limit = parseInt(params.limit, 10);
  if (!(limit > 0)) {
    limit = DEFAULT_LIMIT;
  }
  return {
    types: [type],
    since: params.since || undefined,
    until: params.until || undefined,
    include: list(params.include),
    exclude: list(params.exclude),
    limit: Math.min(limit, MAX_LIMIT)
  };
}

// read returns up to q.limit entries of hub, following continuation
// tokens, newest first (elmcity.readLog returns each page newest first,
// and pages follow one another).
function read(hub, q) {
  var out = null;
  var after = "";
  for (;;) {
    var page = elmcity.readLog({
      hub: hub, types: q.types, since: q.since, until: q.until,
      include: q.include, exclude: q.exclude, limit: q.limit - (out ? out.length : 0), after: after
    });
    var got = page.entries;
    if (out === null) {
      out = got;
    } else {
      for (var i = 0; i < got.length; i++) {
        out.push(got[i]);
      }
    }
    if (!page.next || got.length === 0 || out.length >= q.limit) {
      break;
    }
    after = page.next;
  }
  return out.length > q.limit ? out.slice(0, q.limit) : out;
}

// SEP separates blocks while render works; log text does not contain it
// (and render notices if it does).
var SEP = "\u0001";

// render formats entries as blocks: a header line (time, type,
// role/instance, message), then the detail, every line after the first
// indented by four spaces, with a blank line between blocks.
//
// It is written for goja, where a call to a built-in costs more than a
// dozen plain operations: each entry is one template literal (which goja
// builds in one step), and the indenting is done once over the whole
// text with split and join, rather than per entry.
function render(entries) {
  var blocks = [];
  for (var i = 0, n = entries.length; i < n; i++) {
    var e = entries[i];
    var role = e.role, instance = e.instance, detail = e.detail;
    var who = role ? (instance ? `${role}/${instance}` : role) : (instance || "-");
    blocks[i] = detail ?
      `${e.time} ${e.type} ${who} ${e.message}\n${detail}` :
      `${e.time} ${e.type} ${who} ${e.message}`;
  }
  var text = blocks.join(SEP);
  if (text.split(SEP).length !== blocks.length) {
    return renderEach(entries); // some entry's text holds SEP
  }
  return indent(text).split(SEP).join("\n\n") + "\n";
}

// indent puts four spaces after every line break of text, turning CRLF
// into LF.
function indent(text) {
  if (text.indexOf("\r") >= 0) {
    text = text.split("\r\n").join("\n");
  }
  return text.split("\n").join("\n    ");
}

// renderEach is render one entry at a time, for text that holds SEP.
function renderEach(entries) {
  var blocks = [];
  for (var i = 0; i < entries.length; i++) {
    var e = entries[i];
    var who = e.role ? (e.instance ? e.role + "/" + e.instance : e.role) : (e.instance || "-");
    var block = e.time + " " + e.type + " " + who + " " + e.message;
    if (e.detail) {
      block += "\n" + e.detail;
    }
    blocks.push(indent(block) + "\n");
  }
  return blocks.join("\n");
}

// serve is the whole service: argv is [hub, what].
function serve(type, argv, params) {
  var hub = argv[0] || elmcity.hub;
  if (!hub) {
    throw new Error("usage: argv = [hub, what]");
  }
  var entries = read(hub, query(type, params));
  if (entries.length === 0) {
    return "no " + type + " entries for " + hub + "\n";
  }
  return render(entries);
}

module.exports = { list: list, query: query, read: read, render: render, serve: serve };
