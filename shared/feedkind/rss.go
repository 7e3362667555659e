package feedkind

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"
)

// The namespaces of the elements rss reads by default, and the prefixes
// a Mapping may use for them.
var rssPrefixes = map[string][]string{
	"xcal":    {"urn:ietf:params:xml:ns:xcal", "urn:ietf:params:xml:ns:icalendar-2.0"},
	"ev":      {"http://purl.org/rss/1.0/modules/event/"},
	"atom":    {"http://www.w3.org/2005/Atom"},
	"dc":      {"http://purl.org/dc/elements/1.1/"},
	"content": {"http://purl.org/rss/1.0/modules/content/"},
}

// elemSpec matches an element: its local name (lower-cased) in any of
// spaces (nil: any namespace).
type elemSpec struct {
	spaces []string
	local  string
}

// parseElemSpec reads a Mapping element name; validElementName has
// checked it.
func parseElemSpec(s string) elemSpec {
	if strings.HasPrefix(s, "{") {
		i := strings.IndexByte(s, '}')
		return elemSpec{spaces: []string{s[1:i]}, local: strings.ToLower(s[i+1:])}
	}
	if prefix, local, ok := strings.Cut(s, ":"); ok {
		return elemSpec{spaces: rssPrefixes[strings.ToLower(prefix)], local: strings.ToLower(local)}
	}
	return elemSpec{local: strings.ToLower(s)}
}

// The elements read by default, in order of preference.
var (
	rssTitle = []elemSpec{{local: "title", spaces: []string{"", "http://www.w3.org/2005/Atom"}}, {local: "summary", spaces: rssPrefixes["xcal"]}}
	rssLink  = []elemSpec{{local: "link", spaces: []string{"", "http://www.w3.org/2005/Atom"}}, {local: "url", spaces: rssPrefixes["xcal"]}}
	rssUID   = []elemSpec{{local: "guid"}, {local: "id", spaces: []string{"http://www.w3.org/2005/Atom"}}, {local: "uid", spaces: rssPrefixes["xcal"]}}
	rssDesc  = []elemSpec{{local: "description", spaces: []string{""}}, {local: "encoded", spaces: rssPrefixes["content"]},
		{local: "summary", spaces: []string{"http://www.w3.org/2005/Atom"}}, {local: "content", spaces: []string{"http://www.w3.org/2005/Atom"}},
		{local: "description", spaces: rssPrefixes["xcal"]}}
	rssCats  = []elemSpec{{local: "category"}, {local: "categories", spaces: rssPrefixes["xcal"]}, {local: "type", spaces: rssPrefixes["ev"]}}
	rssStart = []elemSpec{{local: "dtstart", spaces: rssPrefixes["xcal"]}, {local: "startdate", spaces: rssPrefixes["ev"]}}
	rssEnd   = []elemSpec{{local: "dtend", spaces: rssPrefixes["xcal"]}, {local: "enddate", spaces: rssPrefixes["ev"]}}
	rssDur   = []elemSpec{{local: "duration", spaces: rssPrefixes["xcal"]}}
	rssLoc   = []elemSpec{{local: "location", spaces: rssPrefixes["xcal"]}, {local: "location", spaces: rssPrefixes["ev"]}}
	rssStat  = []elemSpec{{local: "status", spaces: rssPrefixes["xcal"]}}
)

// xmlField is one element inside an item or entry.
type xmlField struct {
	space, local string // local lower-cased
	text         []byte
	href, rel    string // Atom link
	term         string // Atom category
}

// rssItem is an item or entry being read.
type rssItem struct {
	fields []xmlField
	open   []int // the fields whose elements are open
}

const (
	maxItemFields = 256
	maxFieldText  = 64 << 10
)

// find returns the first field that matches one of specs, in the
// specs' order.
func (it *rssItem) find(specs []elemSpec) *xmlField {
	for _, s := range specs {
		for i := range it.fields {
			if s.match(&it.fields[i]) {
				return &it.fields[i]
			}
		}
	}
	return nil
}

// match reports whether f is the element s names.
func (s elemSpec) match(f *xmlField) bool {
	if f.local != s.local {
		return false
	}
	if s.spaces == nil {
		return true
	}
	for _, sp := range s.spaces {
		if f.space == sp {
			return true
		}
	}
	return false
}

// specsFor returns the mapped element for a field, if any, else the
// defaults.
func specsFor(mapped string, defaults []elemSpec) []elemSpec {
	if mapped != "" {
		return []elemSpec{parseElemSpec(mapped)}
	}
	return defaults
}

// readRSS reads RSS 2.0, RSS 1.0 or Atom and emits each item or entry
// that carries an event start: xCal's dtstart (RFC 6321 or the older
// xCal namespace) or the RSS event module's ev:startdate, or the element
// Mapping.StartDate names. pubDate and Atom's updated are publication
// dates, not event dates, and are not read unless mapped.
func (c *converter) readRSS(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(trimBOM(data)))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		enc, err := htmlindex.Get(label)
		if err != nil {
			return nil, fmt.Errorf("charset %q: %w", label, err)
		}
		return enc.NewDecoder().Reader(r), nil
	}
	depth, itemDepth, items := 0, 0, 0
	var cur *rssItem
	root := ""
	var title []byte
	titleDepth := 0
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := c.ctx.Err(); err != nil {
				return err
			}
		}
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if root == "" {
				return fmt.Errorf("not XML: %v: %w", err, ErrInvalidInput)
			}
			c.warn(fmt.Sprintf("XML error after %d items: %v: the rest is not read", items, err))
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > c.opt.MaxDepth {
				return fmt.Errorf("XML nested deeper than %d: %w", c.opt.MaxDepth, ErrInvalidInput)
			}
			local := strings.ToLower(t.Name.Local)
			if root == "" {
				root = local
				if local != "rss" && local != "feed" && local != "rdf" {
					return fmt.Errorf("root element <%s> is not rss, feed or rdf:RDF: %w", t.Name.Local, ErrInvalidInput)
				}
				continue
			}
			if cur == nil && (local == "item" || local == "entry") {
				cur, itemDepth = &rssItem{}, depth
				continue
			}
			if cur == nil {
				if local == "title" && titleDepth == 0 && title == nil && depth <= 3 {
					titleDepth = depth
				}
				continue
			}
			if len(cur.fields) >= maxItemFields {
				cur.open = append(cur.open, -1)
				continue
			}
			f := xmlField{space: t.Name.Space, local: local}
			for _, a := range t.Attr {
				switch a.Name.Local {
				case "href":
					f.href = a.Value
				case "rel":
					f.rel = a.Value
				case "term":
					f.term = a.Value
				}
			}
			cur.fields = append(cur.fields, f)
			cur.open = append(cur.open, len(cur.fields)-1)
		case xml.EndElement:
			switch {
			case cur != nil && depth == itemDepth:
				items++
				if !c.next() {
					return nil
				}
				c.rssEmit(fmt.Sprintf("item %d", items), cur)
				cur = nil
				if c.full {
					return nil
				}
			case cur != nil && len(cur.open) > 0:
				cur.open = cur.open[:len(cur.open)-1]
			case titleDepth == depth:
				titleDepth = 0
				if title == nil {
					title = []byte{}
				}
			}
			depth--
		case xml.CharData:
			switch {
			case cur != nil && len(cur.open) > 0:
				if i := cur.open[len(cur.open)-1]; i >= 0 && len(cur.fields[i].text) < maxFieldText {
					cur.fields[i].text = append(cur.fields[i].text, t[:min(len(t), maxFieldText-len(cur.fields[i].text))]...)
				}
			case titleDepth > 0 && len(title) < maxTitle:
				title = append(title, t...)
			}
		}
	}
	if root == "" {
		return fmt.Errorf("no XML element: %w", ErrInvalidInput)
	}
	if items == 0 {
		c.warn("no item or entry")
	}
	if len(title) > 0 {
		// The calendar's name comes after the events in the text; the
		// parser does not mind where X-WR-CALNAME is.
		c.w.name(htmlText(string(title), false))
	}
	return nil
}

// rssEmit builds an event from an item or entry and emits it.
func (c *converter) rssEmit(where string, it *rssItem) {
	m := c.m
	text := func(specs []elemSpec) string {
		if f := it.find(specs); f != nil {
			return strings.TrimSpace(string(f.text))
		}
		return ""
	}
	e := event{localWhat: "start date"}
	e.title = htmlText(text(specsFor(m.Title, rssTitle)), false)
	e.description = htmlText(text(specsFor(m.Description, rssDesc)), true)
	e.location = htmlText(text(specsFor(m.Location, rssLoc)), false)
	e.id = text(specsFor(m.UID, rssUID))
	// The link: RSS's text, or Atom's alternate href.
	for _, s := range specsFor(m.URL, rssLink) {
		for i := range it.fields {
			f := &it.fields[i]
			if !s.match(f) || e.url != "" {
				continue
			}
			switch {
			case f.href != "" && (f.rel == "" || f.rel == "alternate"):
				e.url = resolveURL(c.base, f.href)
			case f.href == "" && len(bytes.TrimSpace(f.text)) > 0:
				e.url = resolveURL(c.base, strings.TrimSpace(string(f.text)))
			}
		}
	}
	for _, s := range specsFor(m.Categories, rssCats) {
		for i := range it.fields {
			if f := &it.fields[i]; s.match(f) {
				v := f.term
				if v == "" {
					v = string(f.text)
				}
				for _, part := range strings.Split(v, ",") {
					e.categories = addCategory(e.categories, htmlText(part, false))
				}
			}
		}
	}
	switch strings.ToUpper(text(specsFor(m.Status, rssStat))) {
	case "CANCELLED", "CANCELED":
		e.status = "CANCELLED"
	case "TENTATIVE":
		e.status = "TENTATIVE"
	}
	startText := text(specsFor(m.StartDate, rssStart))
	if startText == "" {
		c.skip(where, "no event start date (xCal dtstart or ev:startdate; map start_date to the element that has it)")
		return
	}
	start, err := parseRSSDate(startText)
	if err != nil {
		c.skip(where, "start date: "+err.Error())
		return
	}
	e.start = start
	if s := text(specsFor(m.EndDate, rssEnd)); s != "" {
		if end, err := parseRSSDate(s); err == nil {
			e.end = end
		} else {
			c.warn(fmt.Sprintf("%s: end ignored: %v", where, err))
		}
	} else if s := text(specsFor(m.Duration, rssDur)); s != "" {
		if d, err := parseDuration(s, false); err == nil {
			e.dur, e.hasDur = d, true
		}
	}
	if e.id == "" && e.url != "" {
		e.id = e.url + "#" + startText
	}
	c.emit(where, &e)
}

// parseRSSDate reads an ISO 8601 or iCalendar date (xCal, ev:) or an
// RFC 822 date as RSS writes pubDate ("Sat, 01 Mar 2025 19:00:00 -0500").
func parseRSSDate(s string) (when, error) {
	w, err := parseISO(s)
	if err == nil {
		return w, nil
	}
	for _, layout := range []string{time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 MST",
		"2 Jan 2006 15:04:05 -0700", time.RFC822Z, time.RFC822} {
		if t, perr := time.Parse(layout, strings.TrimSpace(s)); perr == nil {
			if name, off := t.Zone(); off == 0 && name != "UTC" && name != "GMT" && name != "Z" && !strings.HasSuffix(layout, "0700") && !strings.HasSuffix(layout, "Z") {
				// An unknown zone abbreviation: Go reads it as UTC.
				return when{}, errors.New("date " + s + " has a zone abbreviation that is not an offset")
			}
			return when{t: t, form: formInstant}, nil
		}
	}
	return when{}, err
}
