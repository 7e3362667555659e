// maintenance/enqueue_stale.js: queue an aggregation for every hub whose
// last good aggregation is older than its interval.
//
// It reads two fields of each hub record:
//   last_good_aggregation  the time of the last good aggregation (absent:
//                          never aggregated, so due)
//   aggregation_interval   a duration such as "1h" or "1h30m0s", or a
//                          number of seconds; absent: argv[0], default "24h"
"use strict";

// seconds parses a Go-style duration ("1h30m", "90s", "2h0m0s") or a
// number of seconds.
function seconds(d) {
  if (typeof d === "number") {
    return d;
  }
  var re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
  var unit = { h: 3600, m: 60, s: 1, ms: 0.001 };
  var total = 0, matched = "", m;
  while ((m = re.exec(d)) !== null) {
    total += parseFloat(m[1]) * unit[m[2]];
    matched += m[0];
  }
  if (matched === "" || matched !== d) {
    throw new Error("enqueue_stale: bad duration " + JSON.stringify(d));
  }
  return total;
}

var fallback = argv[0] || "24h";
var now = Date.parse(elmcity.now());
var hubs = elmcity.hubs();
var queued = [];
for (var i = 0; i < hubs.length; i++) {
  var hub = elmcity.hubInfo(hubs[i]);
  var interval = seconds(hub.aggregation_interval !== undefined && hub.aggregation_interval !== null ? hub.aggregation_interval : fallback);
  var last = hub.last_good_aggregation ? Date.parse(hub.last_good_aggregation) : NaN;
  var reason;
  if (isNaN(last)) {
    reason = "never aggregated";
  } else if ((now - last) / 1000 >= interval) {
    reason = "last good aggregation " + hub.last_good_aggregation + " is older than the interval of " + interval + "s";
  } else {
    continue;
  }
  var id = elmcity.enqueue(hubs[i], reason);
  queued.push(hubs[i]);
  console.info("queued aggregation of " + hubs[i] + " (" + id + "): " + reason);
}
var result = "queued " + queued.length + " of " + hubs.length + " hubs" + (queued.length ? ": " + queued.join(", ") : "");
