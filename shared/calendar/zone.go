package calendar

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// zone is how the date-times of one TZID (or the floating times of a
// feed) are placed on the time line.
type zone struct {
	// loc is where times are placed; nil keeps them floating.
	loc *time.Location
	// ref is where a literal reading of the feed would place them (the
	// file's VTIMEZONE); nil with refFloating false means the same as
	// loc.
	ref *time.Location
	// refFloating reports that a literal reading keeps them floating.
	refFloating bool
	// policy names the hub policy that chose loc over ref.
	policy Policy
	// floatingSrc reports times that are floating in the feed: no TZID,
	// or a TZID that names no zone.
	floatingSrc bool
	// check, for an IANA zone the feed also defines in a VTIMEZONE,
	// collects the dates read in it (one parse only: see divergence).
	check *divergence
	// period caches the offset period of loc that the last conversion
	// fell in; it is safe for concurrent use.
	period atomic.Pointer[zonePeriod]
}

// zonePeriod is a span of Unix seconds [start, end) with one UTC offset.
type zonePeriod struct{ start, end, off int64 }

// placeLoc is placeIn for z.loc, answering from the cached offset period
// when the wall clock is more than a day away from its edges (so neither
// a gap nor an overlap can be involved).
func (z *zone) placeLoc(wall time.Time) (rfc, after time.Time) {
	w := wall.Unix()
	if p := z.period.Load(); p != nil {
		if u := w - p.off; u-86400 >= p.start && u+86400 < p.end {
			t := time.Unix(u, int64(wall.Nanosecond())).In(z.loc)
			return t, t
		}
	}
	rfc, after = placeIn(wall, z.loc)
	if rfc.Equal(after) {
		start, end := rfc.ZoneBounds()
		_, off := rfc.Zone()
		p := &zonePeriod{start: math.MinInt64 / 2, end: math.MaxInt64 / 2, off: int64(off)}
		if !start.IsZero() {
			p.start = start.Unix()
		}
		if !end.IsZero() {
			p.end = end.Unix()
		}
		z.period.Store(p)
	}
	return rfc, after
}

// toInstant places a wall clock (given in UTC) in z. RFC 5545 section
// 3.3.5: a wall clock that occurs twice (when daylight time ends) means
// the first occurrence; one that does not occur (when it starts) is read
// with the offset before the gap.
func (z *zone) toInstant(wall time.Time) time.Time {
	if z == nil || z.loc == nil {
		return wall
	}
	t, _ := z.placeLoc(wall)
	return t
}

// place is toInstant that also names the policies that make the instant
// differ from the reference reading: z.policy when the reference zone
// (or floating time) gives another instant, PolicyDSTTransition when the
// wall clock falls in a daylight-saving overlap or gap, where the
// reference uses the offset after the change.
func (z *zone) place(wall time.Time) (time.Time, Policy) {
	if z == nil || z.loc == nil {
		return wall, ""
	}
	t, after := z.placeLoc(wall)
	var p Policy
	switch {
	case z.refFloating:
		p = z.policy
	case z.ref != nil:
		if _, r := placeIn(wall, z.ref); !r.Equal(t) && !r.Equal(after) {
			p = z.policy
		}
	}
	if !after.Equal(t) {
		p = p.join(PolicyDSTTransition)
	}
	return t, p
}

// placeIn converts a wall clock (given in UTC) to the instant it names in
// loc by RFC 5545's rules for gaps and overlaps, and also returns the
// instant that the offset in force after a nearby change gives (which is
// how ical.js reads gaps and overlaps); the two differ only in a gap or
// an overlap.
func placeIn(wall time.Time, loc *time.Location) (rfc, after time.Time) {
	w := wall.Unix()
	ns := int64(wall.Nanosecond())
	const day = 86400
	_, ob := time.Unix(w-day, 0).In(loc).Zone()
	_, oa := time.Unix(w+day, 0).In(loc).Zone()
	if ob == oa {
		t := time.Unix(w-int64(ob), ns).In(loc)
		return t, t
	}
	ub, ua := w-int64(ob), w-int64(oa)
	_, xb := time.Unix(ub, 0).In(loc).Zone()
	_, xa := time.Unix(ua, 0).In(loc).Zone()
	okb, oka := xb == ob, xa == oa
	tb, ta := time.Unix(ub, ns).In(loc), time.Unix(ua, ns).In(loc)
	switch {
	case okb && oka: // overlap: the first occurrence
		if ua < ub {
			return ta, ta
		}
		return tb, ta
	case okb:
		return tb, tb
	case oka:
		return ta, ta
	}
	return tb, ta // gap: the offset before it
}

// zoneCache holds IANA locations and VTIMEZONE-built locations for a
// Parser; it is safe for concurrent use. time.LoadLocation reads and
// parses a zoneinfo file on every call, so each name is loaded once.
type zoneCache struct {
	mu     sync.Mutex
	iana   map[string]*time.Location // nil value: not an IANA name
	custom map[string]vtzLocations   // keyed by TZID and the VTIMEZONE's rules
}

// newZoneCache returns an empty cache.
func newZoneCache() *zoneCache {
	return &zoneCache{
		iana:   make(map[string]*time.Location),
		custom: make(map[string]vtzLocations),
	}
}

// maxCached bounds each cache map; a hostile stream of distinct names
// cannot grow it without limit.
const maxCached = 4096

// loadIANA returns the IANA location of name, or nil.
func (c *zoneCache) loadIANA(name string) *time.Location {
	if !plausibleIANA(name) {
		return nil
	}
	c.mu.Lock()
	loc, ok := c.iana[name]
	c.mu.Unlock()
	if ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	c.mu.Lock()
	if len(c.iana) >= maxCached {
		clear(c.iana)
	}
	c.iana[name] = loc
	c.mu.Unlock()
	return loc
}

// plausibleIANA filters names time.LoadLocation must not see: "Local"
// and "" (which it maps to the host zone and UTC), paths, and names with
// characters no zone name has.
func plausibleIANA(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 {
		return false
	}
	if name[0] == '/' || strings.Contains(name, "..") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '/' || c == '_' || c == '-' || c == '+') {
			return false
		}
	}
	return true
}

// customLocations returns the cached readings of a VTIMEZONE.
func (c *zoneCache) customLocations(key string) (vtzLocations, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	locs, ok := c.custom[key]
	return locs, ok
}

// storeCustom caches the readings of a VTIMEZONE.
func (c *zoneCache) storeCustom(key string, locs vtzLocations) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.custom) >= maxCached {
		clear(c.custom)
	}
	c.custom[key] = locs
}

// lookupWindows maps a Windows zone name or an Outlook display name
// ("(UTC-05:00) Eastern Time (US & Canada)", "(GMT+01:00) Amsterdam,
// Berlin, Bern, Rome, Stockholm, Vienna", or the same without the offset
// prefix) to the IANA name CLDR gives it.
func lookupWindows(tzid string) string {
	key := normalizeZoneName(tzid)
	if key == "" {
		return ""
	}
	for i := range windowsZones {
		wz := &windowsZones[i]
		if strings.EqualFold(wz.id, key) || strings.EqualFold(displayCity(wz.display), key) {
			return wz.iana
		}
	}
	for _, a := range legacyWindowsZones {
		if strings.EqualFold(a.name, key) {
			return a.iana
		}
	}
	return ""
}

// legacyWindowsZones are Windows zone names and display names older
// Outlook and Exchange versions wrote that CLDR no longer lists.
var legacyWindowsZones = [...]struct{ name, iana string }{
	{"Mexico Standard Time", "America/Mexico_City"},
	{"Mexico Standard Time 2", "America/Chihuahua"},
	{"Mid-Atlantic Standard Time", "Atlantic/South_Georgia"},
	{"Kamchatka Standard Time", "Asia/Kamchatka"},
	{"Armenian Standard Time", "Asia/Yerevan"},
	{"Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London", "Europe/London"},
	{"Greenwich Mean Time; Dublin, Edinburgh, Lisbon, London", "Europe/London"},
	{"Casablanca, Monrovia", "Africa/Casablanca"},
	{"Casablanca, Monrovia, Reykjavik", "Africa/Casablanca"},
	{"Eastern Time (US and Canada)", "America/New_York"},
	{"Central Time (US and Canada)", "America/Chicago"},
	{"Mountain Time (US and Canada)", "America/Denver"},
	{"Pacific Time (US and Canada)", "America/Los_Angeles"},
	{"Pacific Time (US & Canada); Tijuana", "America/Los_Angeles"},
	{"Amsterdam, Berlin, Bern, Rom, Stockholm, Wien", "Europe/Berlin"},
	{"Brussels, Copenhagen, Madrid, Paris", "Europe/Paris"},
	{"Athens, Istanbul, Minsk", "Europe/Athens"},
	{"Athens, Beirut, Istanbul, Minsk", "Europe/Athens"},
	{"Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius", "Europe/Helsinki"},
	{"Beijing, Chongqing, Hong Kong SAR, Urumqi", "Asia/Shanghai"},
	{"Osaka, Sapporo, Tokyo", "Asia/Tokyo"},
	{"Canberra, Melbourne, Sydney", "Australia/Sydney"},
	{"Auckland, Wellington", "Pacific/Auckland"},
}

// normalizeZoneName strips quotes, TEXT escapes, an "(UTC+01:00)" or
// "(GMT+01:00)" prefix and repeated spaces.
func normalizeZoneName(s string) string {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), `"'`))
	s = strings.ReplaceAll(s, `\,`, ",")
	s = strings.ReplaceAll(s, `\;`, ";")
	if strings.HasPrefix(s, "(") {
		if i := strings.IndexByte(s, ')'); i > 0 {
			inner := strings.ToUpper(s[1:i])
			if strings.HasPrefix(inner, "UTC") || strings.HasPrefix(inner, "GMT") {
				s = strings.TrimSpace(s[i+1:])
			}
		}
	}
	return strings.Join(strings.Fields(s), " ")
}

// displayCity returns a Windows display name without its offset prefix.
func displayCity(display string) string {
	if i := strings.IndexByte(display, ')'); i > 0 && strings.HasPrefix(display, "(") {
		return strings.TrimSpace(display[i+1:])
	}
	return display
}

// aliasIANA maps a TZID that plainly names an IANA zone without being
// one to that zone's name: vendor prefixes ("/mozilla.org/20050126_1/",
// "/softwarestudio.org/Olson_20011030_5/", "/citadel.org/20190914_1/"),
// "posix/" and "right/" prefixes, and separators written as "_", "-" or
// " ". load reports whether a candidate is an IANA name.
func aliasIANA(tzid string, load func(string) *time.Location) string {
	s := strings.Trim(strings.TrimSpace(tzid), `"'`)
	if s == "" {
		return ""
	}
	// A path with a vendor prefix: try ever shorter suffixes of
	// at least two elements, then the last element.
	if strings.Contains(s, "/") {
		parts := strings.Split(strings.Trim(s, "/"), "/")
		for i := 1; i < len(parts)-1; i++ {
			cand := strings.Join(parts[i:], "/")
			if load(cand) != nil {
				return cand
			}
		}
	}
	for _, cand := range []string{
		strings.ReplaceAll(s, " ", "_"),
		strings.Replace(s, "_", "/", 1),
		strings.Replace(s, "-", "/", 1),
	} {
		if cand != s && load(cand) != nil {
			return cand
		}
	}
	return ""
}
