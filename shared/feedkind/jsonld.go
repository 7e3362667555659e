package feedkind

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// ldNode is the part of a JSON-LD node the reader uses. The members are
// kept raw: schema.org lets most of them be a string, an object or an
// array, and decoding them only when needed keeps a large @graph from
// being built as Go maps. Unknown members are skipped by the decoder
// without being kept.
type ldNode struct {
	ID              json.RawMessage `json:"@id"`
	Type            json.RawMessage `json:"@type"`
	Graph           json.RawMessage `json:"@graph"`
	ItemListElement json.RawMessage `json:"itemListElement"`
	Item            json.RawMessage `json:"item"`
	MainEntity      json.RawMessage `json:"mainEntity"`
	SubEvent        json.RawMessage `json:"subEvent"`
	Event           json.RawMessage `json:"event"`
	Events          json.RawMessage `json:"events"`

	Name          json.RawMessage `json:"name"`
	Description   json.RawMessage `json:"description"`
	URL           json.RawMessage `json:"url"`
	StartDate     json.RawMessage `json:"startDate"`
	EndDate       json.RawMessage `json:"endDate"`
	Duration      json.RawMessage `json:"duration"`
	EventStatus   json.RawMessage `json:"eventStatus"`
	Location      json.RawMessage `json:"location"`
	EventSchedule json.RawMessage `json:"eventSchedule"`
	Keywords      json.RawMessage `json:"keywords"`
}

// ldSchedule is a schema.org Schedule.
type ldSchedule struct {
	RepeatFrequency  json.RawMessage `json:"repeatFrequency"`
	ByDay            json.RawMessage `json:"byDay"`
	ByMonth          json.RawMessage `json:"byMonth"`
	ByMonthDay       json.RawMessage `json:"byMonthDay"`
	ByMonthWeek      json.RawMessage `json:"byMonthWeek"`
	RepeatCount      json.RawMessage `json:"repeatCount"`
	StartDate        json.RawMessage `json:"startDate"`
	EndDate          json.RawMessage `json:"endDate"`
	StartTime        json.RawMessage `json:"startTime"`
	EndTime          json.RawMessage `json:"endTime"`
	Duration         json.RawMessage `json:"duration"`
	ExceptDate       json.RawMessage `json:"exceptDate"`
	ScheduleTimezone json.RawMessage `json:"scheduleTimezone"`
}

// ldPlace is a schema.org Place, VirtualLocation or PostalAddress.
type ldPlace struct {
	Type            json.RawMessage `json:"@type"`
	Name            json.RawMessage `json:"name"`
	URL             json.RawMessage `json:"url"`
	Address         json.RawMessage `json:"address"`
	StreetAddress   json.RawMessage `json:"streetAddress"`
	AddressLocality json.RawMessage `json:"addressLocality"`
	AddressRegion   json.RawMessage `json:"addressRegion"`
	PostalCode      json.RawMessage `json:"postalCode"`
	AddressCountry  json.RawMessage `json:"addressCountry"`
}

// ldScalar is what the reader takes from an object where it wants a
// single value: {"@id": "https://schema.org/EventCancelled"},
// {"@value": "..."}, or a named thing.
type ldScalar struct {
	ID    json.RawMessage `json:"@id"`
	Value json.RawMessage `json:"@value"`
	Name  json.RawMessage `json:"name"`
}

// ldBlock is the state of reading one JSON-LD block.
type ldBlock struct {
	n      int // the block's number, from 1
	events int // the Event nodes found
}

// readJSONLD reads a web page's JSON-LD blocks, or a bare JSON-LD
// document, and emits each schema.org Event in them.
func (c *converter) readJSONLD(data []byte) error {
	data = trimBOM(data)
	trim := bytes.TrimSpace(data)
	var blocks [][]byte
	switch {
	case len(trim) > 0 && (trim[0] == '{' || trim[0] == '['):
		blocks = [][]byte{trim}
	case len(trim) > 0 && trim[0] == '<':
		var title string
		var err error
		blocks, title, err = c.ldScripts(data)
		if err != nil {
			return err
		}
		if len(blocks) == 0 {
			return fmt.Errorf(`no <script type="application/ld+json"> in the page: %w`, ErrInvalidInput)
		}
		c.w.name(title)
	default:
		return fmt.Errorf("neither an HTML page nor a JSON-LD document: %w", ErrInvalidInput)
	}
	found := 0
	for i, raw := range blocks {
		if c.full || c.ctx.Err() != nil {
			break
		}
		b := &ldBlock{n: i + 1}
		c.readLDBlock(b, raw)
		found += b.events
	}
	if found == 0 {
		c.warn(fmt.Sprintf("no schema.org Event in %d JSON-LD block(s)", len(blocks)))
	}
	return nil
}

// ldScripts returns the text of the page's application/ld+json scripts
// and the text of its <title>.
func (c *converter) ldScripts(data []byte) (blocks [][]byte, title string, err error) {
	z := html.NewTokenizer(bytes.NewReader(data))
	inLD, inTitle := false, false
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := c.ctx.Err(); err != nil {
				return nil, "", err
			}
		}
		switch z.Next() {
		case html.ErrorToken:
			return blocks, title, nil
		case html.StartTagToken:
			name, hasAttr := z.TagName()
			inLD, inTitle = false, false
			switch atom.Lookup(name) {
			case atom.Script:
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "type" {
						t, _, _ := strings.Cut(string(v), ";")
						inLD = strings.EqualFold(strings.TrimSpace(t), "application/ld+json")
					}
				}
			case atom.Title:
				inTitle = title == ""
			}
		case html.TextToken:
			switch {
			case inLD:
				blocks = append(blocks, bytes.Clone(z.Text()))
				if len(blocks) > 1000 {
					c.warn("only the first 1000 JSON-LD blocks read")
					return blocks[:1000], title, nil
				}
			case inTitle:
				title = clip(oneLine(string(z.Text())), maxTitle)
			}
			inLD, inTitle = false, false
		default:
			inLD, inTitle = false, false
		}
	}
}

// readLDBlock reads one JSON-LD block.
func (c *converter) readLDBlock(b *ldBlock, raw []byte) {
	raw = unwrapScript(raw)
	if len(raw) == 0 {
		return
	}
	depth, ctrl := scanJSON(raw)
	if depth > c.opt.MaxDepth {
		c.warn(fmt.Sprintf("block %d: nested deeper than %d: ignored", b.n, c.opt.MaxDepth))
		return
	}
	if ctrl {
		// Raw line breaks and tabs inside strings are the commonest
		// fault of hand-made JSON-LD; read them as spaces.
		raw = blankControls(raw)
	}
	if !json.Valid(raw) {
		err := json.Unmarshal(raw, new(json.RawMessage))
		c.warn(fmt.Sprintf("block %d: invalid JSON-LD: %v", b.n, err))
		return
	}
	c.ldWalk(b, raw, 0)
}

// ldWalk looks for Events in the JSON value raw: directly, in arrays, in
// @graph, in an ItemList's items, a page's mainEntity, an event's
// subEvents, and a place's or organisation's event list.
func (c *converter) ldWalk(b *ldBlock, raw json.RawMessage, depth int) {
	if depth > c.opt.MaxDepth || c.full {
		return
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return
	}
	switch raw[0] {
	case '[':
		jsonElements(raw, func(v []byte) bool {
			c.ldWalk(b, v, depth+1)
			return !c.full
		})
	case '{':
		if c.nodes++; c.nodes%256 == 0 && c.ctx.Err() != nil {
			c.full = true
			return
		}
		if c.nodes > 4*c.opt.MaxItems {
			c.warn(fmt.Sprintf("stopped after %d JSON-LD nodes (the limit)", 4*c.opt.MaxItems))
			c.full = true
			return
		}
		var n ldNode
		if json.Unmarshal(raw, &n) != nil {
			return
		}
		types := ldTypes(n.Type)
		isEvent := false
		for _, t := range types {
			if ldIsEvent(t) {
				isEvent = true
			}
		}
		if isEvent {
			b.events++
			if !c.next() {
				return
			}
			c.ldEvent(fmt.Sprintf("block %d item %d", b.n, b.events), &n, types)
		}
		for _, sub := range []json.RawMessage{n.Graph, n.ItemListElement, n.Item, n.MainEntity, n.SubEvent, n.Event, n.Events} {
			if len(sub) > 0 {
				c.ldWalk(b, sub, depth+1)
			}
		}
	}
}

// ldTypes returns the short names of a node's @type ("MusicEvent" for
// "http://schema.org/MusicEvent" or "schema:MusicEvent").
func ldTypes(raw json.RawMessage) []string {
	var out []string
	ldEach(raw, func(v json.RawMessage) {
		s := ldString(v)
		if i := strings.LastIndexAny(s, "/#:"); i >= 0 {
			s = s[i+1:]
		}
		if s != "" && len(out) < 16 {
			out = append(out, s)
		}
	})
	return out
}

// ldIsEvent reports a schema.org Event type: Event and its subtypes,
// whose names end in "Event" but for a few.
func ldIsEvent(t string) bool {
	switch t {
	case "Festival", "Hackathon", "CourseInstance", "EventSeries":
		return true
	}
	return strings.HasSuffix(t, "Event")
}

// ldEvent emits the Event n, found at where, once per schedule.
func (c *converter) ldEvent(where string, n *ldNode, types []string) {
	e := event{localWhat: "startDate", endInclusive: true}
	e.title = htmlText(ldString(n.Name), false)
	e.description = htmlText(ldString(n.Description), true)
	e.url = resolveURL(c.base, ldString(n.URL))
	e.location = ldLocation(n.Location, 0)
	for _, t := range types {
		if t != "Event" {
			e.categories = addCategory(e.categories, t)
		}
	}
	ldEach(n.Keywords, func(v json.RawMessage) {
		for _, k := range strings.Split(ldString(v), ",") {
			e.categories = addCategory(e.categories, k)
		}
	})
	status := ldString(n.EventStatus)
	switch {
	case strings.HasSuffix(status, "EventCancelled"):
		e.status = "CANCELLED"
	case strings.HasSuffix(status, "EventPostponed"):
		e.status = "TENTATIVE"
	}
	startText := ldString(n.StartDate)
	if id := ldString(n.ID); id != "" && !strings.HasPrefix(id, "_:") {
		e.id = resolveURL(c.base, id)
	} else if e.url != "" {
		e.id = e.url + "#" + startText
	}
	var startErr error
	if startText != "" {
		e.start, startErr = parseISO(startText)
	}
	if s := ldString(n.EndDate); s != "" {
		end, err := parseISO(s)
		if err != nil {
			c.warn(fmt.Sprintf("%s: endDate ignored: %v", where, err))
		}
		e.end = end
	}
	if s := ldString(n.Duration); s != "" {
		if d, err := parseDuration(s, false); err == nil {
			e.dur, e.hasDur = d, true
		}
	}
	var schedules []json.RawMessage
	ldEach(n.EventSchedule, func(v json.RawMessage) {
		if len(schedules) < 16 {
			schedules = append(schedules, v)
		}
	})
	if len(schedules) == 0 {
		if startErr != nil {
			c.skip(where, "startDate: "+startErr.Error())
			return
		}
		c.emit(where, &e)
		return
	}
	for i, raw := range schedules {
		var s ldSchedule
		if json.Unmarshal(raw, &s) != nil {
			c.warn(fmt.Sprintf("%s: eventSchedule %d is not a Schedule: ignored", where, i+1))
			continue
		}
		se := e
		w := where
		if len(schedules) > 1 {
			w = fmt.Sprintf("%s schedule %d", where, i+1)
			if se.id != "" {
				se.id = fmt.Sprintf("%s#schedule-%d", se.id, i+1)
			}
		}
		if err := c.ldSchedule(w, &se, &s, startErr); err != nil {
			c.skip(w, err.Error())
			continue
		}
		c.emit(w, &se)
	}
}

// ldSchedule applies a schema.org Schedule to e: its start (the
// schedule's startDate, else the event's, at its startTime), its end
// (endTime or duration) and its recurrence (repeatFrequency, byDay,
// byMonth, byMonthDay, byMonthWeek, repeatCount, endDate as UNTIL,
// exceptDate as EXDATE), in its scheduleTimezone.
func (c *converter) ldSchedule(where string, e *event, s *ldSchedule, startErr error) error {
	if tz := ldString(s.ScheduleTimezone); tz != "" {
		if loc, err := loadZone(tz); err == nil {
			e.zone = loc
		} else {
			c.warn(fmt.Sprintf("%s: scheduleTimezone %q is not an IANA zone: ignored", where, tz))
		}
	}
	day := e.start
	if d := ldString(s.StartDate); d != "" {
		w, err := parseISO(d)
		if err != nil {
			return fmt.Errorf("schedule startDate: %w", err)
		}
		day = w
	} else if startErr != nil {
		return fmt.Errorf("startDate: %w", startErr)
	}
	if day.isZero() {
		return errNoDate
	}
	if day.form == formInstant && e.zone != nil {
		day = when{t: wallIn(day.t, e.zone), form: formLocal}
	}
	if st := ldString(s.StartTime); st != "" {
		h, m, sec, rest, err := parseClock(strings.TrimPrefix(st, "T"))
		if err != nil {
			return fmt.Errorf("schedule startTime: %w", err)
		}
		y, mo, d := day.t.Date()
		day = when{t: time.Date(y, mo, d, h, m, sec, 0, time.UTC), form: formLocal}
		if rest = strings.TrimSpace(rest); rest != "" {
			if off, err := parseOffset(rest); err == nil {
				day = when{t: day.t.Add(-time.Duration(off) * time.Second).In(time.FixedZone("", off)), form: formInstant}
			}
		}
	}
	e.start = day
	e.end = when{}
	if et := ldString(s.EndTime); et != "" && day.form != formDate {
		h, m, sec, _, err := parseClock(strings.TrimPrefix(et, "T"))
		if err == nil {
			wall := wallIn(day.t, time.UTC)
			if day.form == formInstant {
				wall = wallIn(day.t, day.t.Location())
			}
			endWall := time.Date(wall.Year(), wall.Month(), wall.Day(), h, m, sec, 0, time.UTC)
			if endWall.Before(wall) {
				endWall = endWall.AddDate(0, 0, 1)
			}
			e.dur, e.hasDur = endWall.Sub(wall), true
		}
	} else if d := ldString(s.Duration); d != "" {
		if dur, err := parseDuration(d, false); err == nil {
			e.dur, e.hasDur = dur, true
		}
	}
	r, err := ldRule(s)
	if err != nil {
		c.warn(fmt.Sprintf("%s: %v: written as a single event", where, err))
		return nil
	}
	if r == nil {
		return nil
	}
	if u := ldString(s.EndDate); u != "" {
		if w, err := parseISO(u); err == nil {
			r.until = w
		}
	}
	if r.freq == "WEEKLY" && len(r.byDay) > 0 {
		e.start = alignWeekday(e.start, r.byDay)
	}
	e.rule = r
	ldEach(s.ExceptDate, func(v json.RawMessage) {
		if w, err := parseISO(ldString(v)); err == nil && len(e.exdates) <= maxExdates {
			e.exdates = append(e.exdates, w)
		}
	})
	return nil
}

// wallIn returns the wall clock of t in loc, in UTC.
func wallIn(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), 0, time.UTC)
}

// alignWeekday moves a weekly series' start forward to its first listed
// weekday (at most six days), so that DTSTART is an instance of the
// rule as RFC 5545 section 3.8.5.3 asks.
func alignWeekday(w when, days []string) when {
	if w.form == formInstant {
		return w
	}
	for i := 0; i < 7; i++ {
		t := w.t.AddDate(0, 0, i)
		code := strings.ToUpper(t.Weekday().String()[:2])
		for _, d := range days {
			if d == code {
				return when{t: t, form: w.form}
			}
		}
	}
	return w
}

// ldRule reads the recurrence of a Schedule; nil without a
// repeatFrequency.
func ldRule(s *ldSchedule) (*rule, error) {
	f := strings.TrimSpace(ldString(s.RepeatFrequency))
	if f == "" {
		return nil, nil
	}
	r := &rule{interval: 1}
	switch strings.ToLower(f) {
	case "daily":
		r.freq = "DAILY"
	case "weekly":
		r.freq = "WEEKLY"
	case "monthly":
		r.freq = "MONTHLY"
	case "yearly", "annually":
		r.freq = "YEARLY"
	default:
		u := strings.ToUpper(f)
		if len(u) < 3 || u[0] != 'P' {
			return nil, fmt.Errorf("repeatFrequency %q not understood", f)
		}
		n, err := strconv.Atoi(u[1 : len(u)-1])
		if err != nil || n < 1 || n > 1000 {
			return nil, fmt.Errorf("repeatFrequency %q not understood", f)
		}
		r.interval = n
		switch u[len(u)-1] {
		case 'D':
			r.freq = "DAILY"
			if n%7 == 0 {
				r.freq, r.interval = "WEEKLY", n/7
			}
		case 'W':
			r.freq = "WEEKLY"
		case 'M':
			r.freq = "MONTHLY"
		case 'Y':
			r.freq = "YEARLY"
		default:
			return nil, fmt.Errorf("repeatFrequency %q not understood", f)
		}
	}
	var weeks []int
	for _, n := range ldInts(s.ByMonthWeek) {
		if n >= -5 && n <= 5 && n != 0 {
			weeks = append(weeks, n)
		}
	}
	var days []string
	ldEach(s.ByDay, func(v json.RawMessage) {
		if d := ldWeekday(ldString(v)); d != "" && len(days) < 7*5 {
			days = append(days, d)
		}
	})
	for _, d := range days {
		if len(weeks) > 0 && (r.freq == "MONTHLY" || r.freq == "YEARLY") && len(d) == 2 {
			for _, w := range weeks {
				r.byDay = append(r.byDay, strconv.Itoa(w)+d)
			}
			continue
		}
		r.byDay = append(r.byDay, d)
	}
	for _, n := range ldInts(s.ByMonth) {
		if n >= 1 && n <= 12 {
			r.byMonth = append(r.byMonth, n)
		}
	}
	for _, n := range ldInts(s.ByMonthDay) {
		if n >= -31 && n <= 31 && n != 0 {
			r.byMonthDay = append(r.byMonthDay, n)
		}
	}
	if cnt := ldInts(s.RepeatCount); len(cnt) > 0 && cnt[0] > 0 {
		r.count = min(cnt[0], 100_000)
	}
	return r, nil
}

// ldWeekday reads a schema.org DayOfWeek ("https://schema.org/Monday",
// "Monday") or an iCalendar BYDAY value ("MO", "+1MO", "-1FR") as a
// BYDAY value.
func ldWeekday(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexAny(s, "/#:"); i >= 0 {
		s = s[i+1:]
	}
	names := []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	low := strings.ToLower(s)
	for _, n := range names {
		if low == n || (len(low) == 3 && strings.HasPrefix(n, low)) {
			return strings.ToUpper(n[:2])
		}
	}
	if len(s) < 2 || len(s) > 5 {
		return ""
	}
	code := strings.ToUpper(s[len(s)-2:])
	for _, n := range names {
		if code == strings.ToUpper(n[:2]) {
			prefix := s[:len(s)-2]
			if prefix == "" {
				return code
			}
			if w, err := strconv.Atoi(prefix); err == nil && w >= -53 && w <= 53 && w != 0 {
				return strconv.Itoa(w) + code
			}
		}
	}
	return ""
}

// ldInts reads an Integer or a list of them (numbers or numeric
// strings), at most 64.
func ldInts(raw json.RawMessage) []int {
	var out []int
	ldEach(raw, func(v json.RawMessage) {
		if n, err := strconv.Atoi(strings.TrimSpace(ldString(v))); err == nil && len(out) < 64 {
			out = append(out, n)
		}
	})
	return out
}

// ldLocation renders a location as text: a string, a Place (its name
// and address), a PostalAddress, a VirtualLocation ("Online" and its
// URL), or a list of them joined by " / ".
func ldLocation(raw json.RawMessage, depth int) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || depth > 4 {
		return ""
	}
	switch raw[0] {
	case '"':
		return htmlText(ldString(raw), false)
	case '[':
		var parts []string
		ldEach(raw, func(v json.RawMessage) {
			if s := ldLocation(v, depth+1); s != "" && len(parts) < 8 && !containsFold(parts, s) {
				parts = append(parts, s)
			}
		})
		return strings.Join(parts, " / ")
	case '{':
		var p ldPlace
		if json.Unmarshal(raw, &p) != nil {
			return ""
		}
		var parts []string
		add := func(s string) {
			s = htmlText(s, false)
			if s != "" && !containsFold(parts, s) {
				parts = append(parts, s)
			}
		}
		isVirtual := false
		for _, t := range ldTypes(p.Type) {
			isVirtual = isVirtual || t == "VirtualLocation"
		}
		add(ldString(p.Name))
		if isVirtual {
			if len(parts) == 0 {
				add("Online")
			}
			add(ldString(p.URL))
		}
		if len(p.Address) > 0 {
			add(ldLocation(p.Address, depth+1))
		}
		add(ldString(p.StreetAddress))
		add(ldString(p.AddressLocality))
		region := ldString(p.AddressRegion)
		if pc := ldString(p.PostalCode); pc != "" {
			region = strings.TrimSpace(region + " " + pc)
		}
		add(region)
		add(ldString(p.AddressCountry))
		return strings.Join(parts, ", ")
	}
	return ""
}

// containsFold reports whether list holds s, ignoring case.
func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// ldEach calls fn with each element of an array, or with raw itself
// when it is not an array; null and empty values are left out.
func ldEach(raw json.RawMessage, fn func(json.RawMessage)) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	if raw[0] != '[' {
		fn(raw)
		return
	}
	jsonElements(raw, func(v []byte) bool {
		if string(v) != "null" {
			fn(v)
		}
		return true
	})
}

// jsonElements calls fn with each element of the JSON array raw (which
// has been validated), without copying, until fn returns false.
func jsonElements(raw []byte, fn func([]byte) bool) {
	if len(raw) == 0 || raw[0] != '[' {
		return
	}
	depth, start := 0, 1
	inStr, esc := false, false
	for i := 1; i < len(raw); i++ {
		c := raw[i]
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				if e := bytes.TrimSpace(raw[start:i]); len(e) > 0 {
					fn(e)
				}
				return
			}
			depth--
		case ',':
			if depth == 0 {
				if !fn(bytes.TrimSpace(raw[start:i])) {
					return
				}
				start = i + 1
			}
		}
	}
}

// ldString reads a value as text: a string, a number, the first element
// of an array, or an object's @id, @value or name.
func ldString(raw json.RawMessage) string {
	return ldStringDepth(raw, 0)
}

func ldStringDepth(raw json.RawMessage, depth int) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || depth > 4 {
		return ""
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	case c == '-' || c >= '0' && c <= '9':
		return string(raw)
	case c == '[':
		var out string
		jsonElements(raw, func(v []byte) bool {
			out = ldStringDepth(v, depth+1)
			return out == ""
		})
		return out
	case c == '{':
		var s ldScalar
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		for _, v := range []json.RawMessage{s.ID, s.Value, s.Name} {
			if t := ldStringDepth(v, depth+1); t != "" {
				return t
			}
		}
	}
	return ""
}

// unwrapScript trims a script's text of white space, HTML comment
// markers and CDATA wrappers that pages put around JSON-LD.
func unwrapScript(b []byte) []byte {
	b = bytes.TrimSpace(b)
	for _, p := range [][2]string{{"<!--", "-->"}, {"//<![CDATA[", "//]]>"}, {"<![CDATA[", "]]>"}} {
		if bytes.HasPrefix(b, []byte(p[0])) {
			b = bytes.TrimPrefix(b, []byte(p[0]))
			b = bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(b), []byte(p[1])))
		}
	}
	return bytes.TrimSpace(trimBOM(b))
}

// scanJSON returns the deepest nesting of arrays and objects in b, and
// whether a string holds a raw control character, without decoding b.
func scanJSON(b []byte) (depth int, ctrl bool) {
	cur := 0
	inStr, esc := false, false
	for _, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			case c < 0x20:
				ctrl = true
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			cur++
			depth = max(depth, cur)
		case c == '}' || c == ']':
			cur--
		}
	}
	return depth, ctrl
}

// blankControls returns b with every control character inside a string
// made a space.
func blankControls(b []byte) []byte {
	out := bytes.Clone(b)
	inStr, esc := false, false
	for i, c := range out {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			case c < 0x20:
				out[i] = ' '
			}
		case c == '"':
			inStr = true
		}
	}
	return out
}

// trimBOM drops a UTF-8 byte order mark.
func trimBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
}

// htmlText returns the text of s, which may hold HTML markup and
// entities (as JSON-LD and RSS text often does): tags dropped, entities
// decoded; with multiline set, block elements and <br> become line
// breaks, else the text is one line.
func htmlText(s string, multiline bool) string {
	if !strings.ContainsAny(s, "<&") {
		if multiline {
			return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
		}
		return oneLine(s)
	}
	s = clip(s, 4*maxDescription)
	if !strings.Contains(s, "<") {
		s = html.UnescapeString(s)
		if multiline {
			return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
		}
		return oneLine(s)
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			out := b.String()
			if !multiline {
				return oneLine(out)
			}
			lines := strings.Split(out, "\n")
			kept := lines[:0]
			for _, l := range lines {
				if l = oneLine(l); l != "" {
					kept = append(kept, l)
				}
			}
			return strings.Join(kept, "\n")
		case html.TextToken:
			b.Write(z.Text())
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Br, atom.P, atom.Div, atom.Li, atom.H1, atom.H2, atom.H3, atom.H4, atom.Tr:
				b.WriteByte('\n')
			case atom.Script, atom.Style:
				if tt == html.StartTagToken {
					z.Next() // drop the script's or style's text
				}
			case atom.Td, atom.Th, atom.Dd, atom.Dt:
				b.WriteByte(' ')
			}
		}
	}
}
