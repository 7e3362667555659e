// maintenance/purge_logs.js: delete log entries older than N days from
// every hub and from the system log (~system). argv[0] is N (default 30).
"use strict";

var days = parseInt(argv[0] || "30", 10);
if (!(days > 0)) {
  throw new Error("purge_logs: argv[0] must be a positive number of days, got " + argv[0]);
}
var olderThan = (days * 24) + "h";
var hubs = elmcity.hubs().concat(["~system"]);
var total = 0;
for (var i = 0; i < hubs.length; i++) {
  var n = elmcity.purgeLog(hubs[i], olderThan);
  total += n;
  if (n > 0) {
    console.info("purged " + n + " log entries older than " + days + " days from " + hubs[i]);
  }
}
var result = "purged " + total + " entries older than " + days + " days from " + (hubs.length - 1) + " hubs and the system log";
