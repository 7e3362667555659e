// adapters/example.js: a worked example of an adapter script.
//
// A venue publishes its programme as a JSON API, one page at a time:
//
//   GET /api/events          {"events": [...], "next": "/api/events?page=2"}
//   GET /api/events?page=2   {"events": [...], "next": null}
//
// each event {"id": 17, "name": "Open mic", "date": "2026-12-03",
// "doors": "19:00", "ends": "22:00", "room": "Hall B", "tags": ["music"],
// "cancelled": false, "page": "/e/17", "blurb": "..."}, with times of day
// in the venue's own zone and "doors" empty for an all-day event.
//
// The feed's URL is the first page: the worker fetches it (and skips this
// script when it has not changed), and it is elmcity.source here. Later
// pages come from elmcity.fetch, which may reach the feed's own host (and
// any the feed record lists in hosts) only.

var MAX_PAGES = 10;

function page(res) {
  if (res.status !== 200) {
    throw new Error("venue API answered " + res.status + " for " + res.url);
  }
  return JSON.parse(res.body);
}

// absolute resolves a path such as "/e/17" against the feed's URL.
function absolute(path) {
  if (!path) { return undefined; }
  if (/^https?:\/\//.test(path)) { return path; }
  var m = /^(https?:\/\/[^\/]+)/.exec(argv[0]);
  return m[1] + path;
}

function toEvent(e) {
  var ev = {
    uid: "venue-" + e.id + "@" + absolute("/").replace(/^https?:\/\//, "").replace(/\/$/, ""),
    title: e.name,
    location: e.room ? e.room + ", The Venue" : "The Venue",
    url: absolute(e.page),
    description: e.blurb,
    categories: e.tags || [],
    tz: "America/New_York",
    status: e.cancelled ? "cancelled" : undefined
  };
  // An event without a date is left without a start: the worker skips
  // it and says so in the feed's stats ("start: required").
  if (e.date && e.doors) {
    ev.start = e.date + "T" + e.doors;
    if (e.ends) { ev.end = e.date + "T" + e.ends; }
  } else {
    ev.start = e.date;
    ev.all_day = true;
  }
  return ev;
}

var events = [];
var body = elmcity.source ? page(elmcity.source) : page(elmcity.fetch(argv[0], {headers: {Accept: "application/json"}}));
for (var n = 1; ; n++) {
  body.events.forEach(function (e) { events.push(toEvent(e)); });
  if (!body.next || n >= MAX_PAGES) { break; }
  body = page(elmcity.fetch(absolute(body.next), {headers: {Accept: "application/json"}}));
}
result = events;
