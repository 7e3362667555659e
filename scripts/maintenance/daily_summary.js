// maintenance/daily_summary.js: write a "summary" entry to each hub's
// log counting the last day's entries by type, with the most frequent
// warning and exception messages in the detail.
"use strict";

var PAGE = 5000;
var MAX_ENTRIES = 50000;
var TOP = 5;

// counts reads a hub's entries since "since" and counts them by type and
// by warning or exception message.
function counts(hub, since) {
  var byType = {}, byMessage = {}, seen = 0, after = "";
  for (;;) {
    var page = elmcity.readLog({ hub: hub, since: since, limit: PAGE, after: after });
    for (var i = 0; i < page.entries.length; i++) {
      var e = page.entries[i];
      if (e.type === "summary") {
        continue;
      }
      byType[e.type] = (byType[e.type] || 0) + 1;
      if (e.type === "warning" || e.type === "exception") {
        var key = e.type + ": " + e.message;
        byMessage[key] = (byMessage[key] || 0) + 1;
      }
    }
    seen += page.entries.length;
    if (!page.next || page.entries.length === 0 || seen >= MAX_ENTRIES) {
      return { byType: byType, byMessage: byMessage, truncated: !!page.next && seen >= MAX_ENTRIES };
    }
    after = page.next;
  }
}

var hubs = elmcity.hubs();
for (var h = 0; h < hubs.length; h++) {
  var c = counts(hubs[h], "24h");
  var types = Object.keys(c.byType).sort();
  var message = "daily summary: " + (types.length === 0 ? "no entries" : types.map(function (t) {
    return c.byType[t] + " " + t;
  }).join(", ")) + (c.truncated ? " (first " + MAX_ENTRIES + " entries)" : "");
  var top = Object.keys(c.byMessage).sort(function (a, b) {
    return c.byMessage[b] - c.byMessage[a] || (a < b ? -1 : a > b ? 1 : 0);
  }).slice(0, TOP).map(function (k) { return c.byMessage[k] + "x " + k; });
  elmcity.writeLog({ hub: hubs[h], type: "summary", message: message, detail: top.join("\n") });
}
var result = "wrote daily summaries for " + hubs.length + " hubs";
