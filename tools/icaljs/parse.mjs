// Reads an iCalendar document on stdin, parses it with ical.js (an
// independent implementation), and prints its events as JSON: uid,
// summary, start and end in UTC (dates as YYYY-MM-DD), categories,
// description, location, url. The web role's tests compare this with what
// they rendered. Any parse error exits non-zero with the message.
import ICAL from "ical.js";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;

const comp = new ICAL.Component(ICAL.parse(input));
for (const tz of comp.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(tz);
}
const when = (t) => (t.isDate ? t.toString() : t.toJSDate().toISOString());
const events = comp.getAllSubcomponents("vevent").map((v) => {
  const e = new ICAL.Event(v);
  return {
    uid: e.uid,
    summary: e.summary,
    start: when(e.startDate),
    end: when(e.endDate),
    tzid: e.startDate.isDate ? "" : e.startDate.timezone || e.startDate.zone?.tzid || "",
    description: e.description || "",
    location: e.location || "",
    url: v.getFirstPropertyValue("url") || "",
    categories: v.getAllProperties("categories").flatMap((p) => p.getValues()),
  };
});
process.stdout.write(JSON.stringify({
  calname: comp.getFirstPropertyValue("x-wr-calname"),
  prodid: comp.getFirstPropertyValue("prodid"),
  events,
}));
