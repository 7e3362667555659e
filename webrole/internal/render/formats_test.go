package render_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ical "github.com/emersion/go-ical"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// renderers are the formats of this file, by their route name.
var renderers = map[string]func(io.Writer, *render.View) error{
	"ics": render.ICS, "json": render.JSON, "rss": render.RSS, "xml": render.XML,
	"csv": render.CSV, "text": render.Text, "tags_json": render.TagsJSON,
}

// allOutputs are the renderers, the hub page, its events fragment and
// the stats report: everything the public reads.
func allOutputs() map[string]func(io.Writer, *render.View) error {
	out := map[string]func(io.Writer, *render.View) error{
		"html": func(w io.Writer, v *render.View) error { return render.Page(w, v, render.PageOptions{}) },
		"fragment": func(w io.Writer, v *render.View) error {
			return render.Page(w, v, render.PageOptions{EventsOnly: true})
		},
		"stats": func(w io.Writer, v *render.View) error { return render.StatsPage(w, v.Cal) },
	}
	for k, fn := range renderers {
		out[k] = fn
	}
	return out
}

func renderString(t *testing.T, format string, v *render.View) string {
	t.Helper()
	var buf bytes.Buffer
	if err := renderers[format](&buf, v); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return buf.String()
}

func TestFormatsGolden(t *testing.T) {
	t.Parallel()
	views := map[string]string{"all": "", "music": "view=music,-kids", "one": "uid=jazz%40elmcity"}
	for format := range renderers {
		for name, q := range views {
			t.Run(format+"/"+name, func(t *testing.T) {
				t.Parallel()
				checkGolden(t, name+"."+format, []byte(renderString(t, format, testView(t, q))))
			})
		}
		t.Run(format+"/cancelled", func(t *testing.T) {
			t.Parallel()
			checkGolden(t, "cancelled."+format, []byte(renderString(t, format, cancelledView(t, ""))))
		})
	}
}

// uids lists the UIDs of events, in order.
func uids(events []hubcal.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.UID)
	}
	return out
}

func TestFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"DefaultStartsToday", "", []string{"market@elmcity", "jazz@elmcity", "story@elmcity", "xss@elmcity", "spring@elmcity"}},
		{"Source", "source=Keene+Library", []string{"jazz@elmcity", "story@elmcity"}},
		{"ViewAllRequired", "view=music,jazz", []string{"jazz@elmcity"}},
		{"ViewExclude", "view=-music", []string{"market@elmcity", "story@elmcity"}},
		{"ContributedTagByName", "view=%7Bjazz%7D", []string{"jazz@elmcity"}},
		{"DaysFromToday", "days=4", []string{"market@elmcity", "jazz@elmcity"}},
		{"FromToDates", "from=2026-12-07&to=2026-12-08", []string{"story@elmcity", "xss@elmcity"}},
		{"FromLocalTime", "from=2026-12-07T11:00&to=2026-12-31", []string{"story@elmcity", "xss@elmcity"}},
		{"FromRFC3339", "from=2026-11-30T22:30:00Z&days=1", nil}, // days excludes from: see errors
		{"AllDayInLocalDates", "from=2026-12-05&to=2026-12-05", []string{"market@elmcity", "jazz@elmcity"}},
		{"Past", "from=2026-11-01&to=2026-12-01", []string{"past@elmcity"}},
		{"Count", "count=2", []string{"market@elmcity", "jazz@elmcity"}},
		{"OrderSourceViewCount", "source=City+Hall&view=music&count=1", []string{"xss@elmcity"}},
		{"UIDIgnoresToday", "uid=past%40elmcity", []string{"past@elmcity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cal := testCalendar(t)
			q, _ := url.ParseQuery(tt.query)
			f, err := render.ParseFilter(q, cal.Loc, fixtureNow)
			if tt.name == "FromRFC3339" {
				if err == nil {
					t.Fatal("days with from accepted")
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFilter(%q) = %v", tt.query, err)
			}
			if got := uids(f.Apply(cal.Events, cal.Loc)); !slices.Equal(got, tt.want) {
				t.Errorf("Apply(%q) = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ query, param string }{
		{"days=0", "days"}, {"days=x", "days"}, {"days=99999", "days"},
		{"from=yesterday", "from"}, {"to=2026-13-01", "to"}, {"from=2026-12-05&to=2026-12-01", "to"},
		{"days=3&from=2026-12-05", "days"}, {"count=0", "count"}, {"count=-1", "count"},
		{"view=,", "view"}, {"source=", "source"}, {"count=1&count=2", "count"},
	}
	loc, _ := time.LoadLocation("America/New_York")
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		_, err := render.ParseFilter(q, loc, fixtureNow)
		var fe *render.FilterError
		if !errors.As(err, &fe) || fe.Param != tt.param || fe.Reason == "" {
			t.Errorf("ParseFilter(%q) = %v, want a FilterError for %s", tt.query, err, tt.param)
		}
	}
}

func TestFilterKeyIsCanonical(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation("America/New_York")
	key := func(s string) string {
		q, _ := url.ParseQuery(s)
		f, err := render.ParseFilter(q, loc, fixtureNow)
		if err != nil {
			t.Fatal(err)
		}
		return f.Key()
	}
	if a, b := key("view=Music,-kids&count=5&utm=x"), key("count=5&view=-kids,music"); a != b {
		t.Errorf("keys differ: %q, %q", a, b)
	}
	if a, b := key("from=2026-12-05"), key("from=2026-12-05T00:00"); a != b {
		t.Errorf("keys differ: %q, %q", a, b)
	}
}

// TestICSStructure checks what subscribers need: CRLF, 75-octet folding
// that never splits a character, one VTIMEZONE covering both offsets,
// and a round trip through go-ical with every time intact.
func TestICSStructure(t *testing.T) {
	t.Parallel()
	v := testView(t, "")
	out := renderString(t, "ics", v)
	if strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") {
		t.Error("a line ends without CR")
	}
	for i, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d has %d octets: %q", i+1, len(line), line)
		}
		if !utf8Valid(line) {
			t.Errorf("line %d splits a character: %q", i+1, line)
		}
	}
	for _, want := range []string{"TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400", "TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500", "X-WR-CALNAME:Keene\\, NH", "DTSTART;VALUE=DATE:20261205"} {
		if !strings.Contains(out, want) {
			t.Errorf("ICS lacks %q", want)
		}
	}
	cal, err := ical.NewDecoder(strings.NewReader(out)).Decode()
	if err != nil {
		t.Fatalf("go-ical cannot decode our ICS: %v", err)
	}
	evs := cal.Events()
	if len(evs) != len(v.Events) {
		t.Fatalf("go-ical found %d events, want %d", len(evs), len(v.Events))
	}
	for i, e := range evs {
		want := v.Events[i]
		uid, _ := e.Props.Text(ical.PropUID)
		summary, _ := e.Props.Text(ical.PropSummary)
		start, err := e.DateTimeStart(time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		end, _ := e.DateTimeEnd(time.UTC)
		if uid != want.UID || summary != want.Title {
			t.Errorf("event %d = %q %q, want %q %q", i, uid, summary, want.UID, want.Title)
		}
		if !want.AllDay && (!start.Equal(want.Start) || !end.Equal(want.End)) {
			t.Errorf("event %s = %v-%v, want %v-%v", uid, start, end, want.Start, want.End)
		}
		if d, _ := e.Props.Text(ical.PropDescription); d != want.Description {
			t.Errorf("event %s description = %q, want %q", uid, d, want.Description)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\x00") == s }

// icaljsEvent is what tools/icaljs/parse.mjs prints per event.
type icaljsEvent struct {
	UID, Summary, Start, End, Tzid, Description, Location, URL string
	Categories                                                 []string
}

// TestICSThroughICALJS parses our ICS with ical.js, an independent
// implementation, and compares every event's times and text.
func TestICSThroughICALJS(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("needs node and the ical.js package (npm ci)")
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "tools", "icaljs", "parse.mjs")
	if _, err := os.Stat(filepath.Join(root, "node_modules", "ical.js")); err != nil {
		t.Fatalf("ical.js is not installed (run npm ci at the repository root): %v", err)
	}
	for _, q := range []string{"", "uid=story%40elmcity"} {
		v := testView(t, q)
		cmd := exec.Command("node", script)
		cmd.Stdin = strings.NewReader(renderString(t, "ics", v))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ical.js: %v\n%s", err, stderr.String())
		}
		var got struct {
			Calname, Prodid string
			Events          []icaljsEvent
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got.Calname == "" || got.Prodid != render.ProdID || len(got.Events) != len(v.Events) {
			t.Fatalf("ical.js read %q %q with %d events, want %d", got.Calname, got.Prodid, len(got.Events), len(v.Events))
		}
		for i, e := range got.Events {
			want := v.Events[i]
			ws, we := want.Start.UTC().Format("2006-01-02T15:04:05.000Z"), want.End.UTC().Format("2006-01-02T15:04:05.000Z")
			if want.AllDay {
				ws, we = want.Start.Format(time.DateOnly), want.End.Format(time.DateOnly)
			} else if e.Tzid != "America/New_York" {
				t.Errorf("ical.js: %s in zone %q, want America/New_York", e.UID, e.Tzid)
			}
			if e.UID != want.UID || e.Summary != want.Title || e.Start != ws || e.End != we {
				t.Errorf("ical.js event %d = %s %q %s-%s, want %s %q %s-%s", i, e.UID, e.Summary, e.Start, e.End, want.UID, want.Title, ws, we)
			}
			if e.Description != want.Description || e.Location != want.Location {
				t.Errorf("ical.js %s text = %q / %q, want %q / %q", e.UID, e.Description, e.Location, want.Description, want.Location)
			}
			if !slices.Equal(e.Categories, render.PlainTags(want.Tags)) && len(want.Tags) > 0 {
				t.Errorf("ical.js %s categories = %v, want %v", e.UID, e.Categories, render.PlainTags(want.Tags))
			}
		}
	}
}

func TestJSONSchema(t *testing.T) {
	t.Parallel()
	v := testView(t, "")
	var got render.JSONCalendar
	dec := json.NewDecoder(strings.NewReader(renderString(t, "json", v)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Count != len(v.Events) || got.Hub.TZ != "America/New_York" {
		t.Fatalf("JSON = count %d tz %q", got.Count, got.Hub.TZ)
	}
	for i, e := range got.Events {
		want := v.Events[i]
		if e.AllDay {
			if e.Start != "2026-12-05" || e.End != "2026-12-06" {
				t.Errorf("all-day %s = %s..%s", e.UID, e.Start, e.End)
			}
			continue
		}
		s, err := time.Parse(time.RFC3339, e.Start)
		if err != nil || !s.Equal(want.Start) || !strings.HasSuffix(e.Start, "-05:00") && !strings.HasSuffix(e.Start, "-04:00") {
			t.Errorf("%s start = %q (%v), want %v with the hub offset", e.UID, e.Start, err, want.Start)
		}
		if len(e.Sources) != len(want.Sources) || e.ICS == "" {
			t.Errorf("%s sources = %v, ics %q", e.UID, e.Sources, e.ICS)
		}
	}
	if j := got.Events[1]; j.UID != "jazz@elmcity" || len(j.Merged) != 1 || !slices.Equal(j.Contributed, []string{"jazz"}) {
		t.Errorf("merged event = %+v", j)
	}
}

// TestRSSAndXMLAreValid decodes both documents strictly and checks what
// RSS 2.0 requires of a channel and its items, and the XML calendar's
// own schema (TestXMLMatchesItsSchema checks it against calendar.xsd).
func TestRSSAndXMLAreValid(t *testing.T) {
	t.Parallel()
	v := testView(t, "")
	var rss struct {
		XMLName xml.Name `xml:"rss"`
		Version string   `xml:"version,attr"`
		Channel struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			Description string `xml:"description"`
			Items       []struct {
				Title       string `xml:"title"`
				Link        string `xml:"link"`
				Description string `xml:"description"`
				PubDate     string `xml:"pubDate"`
				GUID        struct {
					ID        string `xml:",chardata"`
					Permalink string `xml:"isPermaLink,attr"`
				} `xml:"guid"`
			} `xml:"item"`
		} `xml:"channel"`
	}
	if err := strictXML(renderString(t, "rss", v), &rss); err != nil {
		t.Fatal(err)
	}
	if rss.Version != "2.0" || rss.Channel.Title == "" || rss.Channel.Link == "" || rss.Channel.Description == "" {
		t.Errorf("RSS channel = %+v", rss.Channel)
	}
	if len(rss.Channel.Items) != len(v.Events) {
		t.Fatalf("RSS has %d items, want %d", len(rss.Channel.Items), len(v.Events))
	}
	for _, it := range rss.Channel.Items {
		if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil || it.Title == "" || it.Link == "" || it.GUID.ID == "" || it.GUID.Permalink != "false" {
			t.Errorf("RSS item = %+v (%v)", it, err)
		}
	}
	if rss.Channel.Items[3].Title != `<script>alert(1)</script> & "friends"` {
		t.Errorf("RSS title = %q", rss.Channel.Items[3].Title)
	}
	var doc render.XMLCalendar
	if err := strictXML(renderString(t, "xml", v), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.XMLName.Space != render.XMLNamespace || doc.Count != len(v.Events) || len(doc.Events) != len(v.Events) {
		t.Errorf("XML calendar = %s %d/%d events", doc.XMLName.Space, doc.Count, len(doc.Events))
	}
}

// strictXML decodes s into v, refusing anything encoding/xml would only
// tolerate.
func strictXML(s string, v any) error {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	if err := d.Decode(v); err != nil {
		return err
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			return errors.New("content after the root element")
		}
	}
}

// readCSV reads the CSV output: a UTF-8 byte order mark, then the rows.
func readCSV(t *testing.T, out string) [][]string {
	t.Helper()
	body, ok := strings.CutPrefix(out, "\xEF\xBB\xBF")
	if !ok {
		t.Fatalf("the CSV does not start with a UTF-8 byte order mark: %.20q", out)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestCSVColumns(t *testing.T) {
	t.Parallel()
	v := testView(t, "")
	rows := readCSV(t, renderString(t, "csv", v))
	if !slices.Equal(rows[0], render.CSVHeader) || len(rows) != len(v.Events)+1 {
		t.Fatalf("CSV header %v, %d rows", rows[0], len(rows))
	}
	want := map[string][]string{
		"market@elmcity": {"2026-12-05", "", "2026-12-05", "", "true"},
		"jazz@elmcity":   {"2026-12-05", "19:00", "2026-12-05", "21:30", "false"},
		"spring@elmcity": {"2027-03-20", "19:00", "2027-03-20", "21:00", "false"},
	}
	for _, r := range rows[1:] {
		if w, ok := want[r[11]]; ok && !slices.Equal(r[1:6], w) {
			t.Errorf("CSV %s = %v, want %v", r[11], r[1:6], w)
		}
		if strings.HasPrefix(r[7], "=") {
			t.Errorf("CSV cell %q would run as a formula", r[7])
		}
		if r[11] == "jazz@elmcity" && (r[10] != "music,jazz" || r[12] != "music;jazz") {
			t.Errorf("CSV jazz Tags %q Categories %q, want music,jazz and music;jazz", r[10], r[12])
		}
	}
	if rows[0][12] != "Categories" {
		t.Errorf("CSV header = %q, want a Categories column", rows[0])
	}
}

// TestXMLMatchesItsSchema validates the XML output against calendar.xsd
// with xmllint (libxml2), which the test command installs.
func TestXMLMatchesItsSchema(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("needs xmllint (Debian's libxml2-utils)")
	}
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Fatal("xmllint is not installed (apt-get install libxml2-utils; make test installs it)")
	}
	dir := t.TempDir()
	noTags := func(v *render.View) { // a hub whose feeds have no categories
		for i := range v.Events {
			v.Events[i].Tags = nil
		}
	}
	someTags := func(v *render.View) { // events with tags and without
		v.Events[0].Tags = nil
	}
	noBase := func(v *render.View) { v.Base = "" }
	tests := []struct {
		name, query string
		change      func(*render.View)
		// want and notWant are strings the document must and must not
		// hold.
		want, notWant []string
	}{
		{name: "Hub", want: []string{`url="https://cal.example.org/keene"`, "<merged>", "<ics>https://cal.example.org/services/keene/ics?uid="}},
		{name: "View", query: "view=music"},
		{name: "OneEvent", query: "uid=market%40elmcity"},
		{name: "HubWithoutTags", change: noTags, notWant: []string{"<tags", "<tag>"}},
		{name: "SomeWithoutTags", change: someTags, want: []string{"<tags>"}},
		{name: "NoPublicURL", change: noBase, notWant: []string{`url="https://cal.example.org`, "<ics>"}},
	}
	for _, tt := range tests {
		v := testView(t, tt.query)
		if tt.change != nil {
			tt.change(v)
		}
		doc := renderString(t, "xml", v)
		for _, w := range tt.want {
			if !strings.Contains(doc, w) {
				t.Errorf("%s: the XML lacks %q:\n%s", tt.name, w, doc)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(doc, w) {
				t.Errorf("%s: the XML has %q:\n%s", tt.name, w, doc)
			}
		}
		path := filepath.Join(dir, tt.name+".xml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("xmllint", "--noout", "--schema", "calendar.xsd", path).CombinedOutput(); err != nil {
			t.Errorf("%s: the XML does not match calendar.xsd: %v\n%s\n%s", tt.name, err, out, doc)
		}
	}
	// The schema is not lax: the old output's empty tags element, an
	// unknown element and a missing title are refused.
	bad := map[string]string{
		"EmptyTags":      strings.Replace(renderString(t, "xml", testView(t, "uid=market%40elmcity")), "<tags>\n   <tag>market</tag>\n  </tags>", "<tags></tags>", 1),
		"UnknownElement": strings.Replace(renderString(t, "xml", testView(t, "uid=market%40elmcity")), "<start>", "<color>red</color><start>", 1),
		"NoTitle":        strings.Replace(renderString(t, "xml", testView(t, "uid=market%40elmcity")), "<title>Winter Market</title>", "", 1),
	}
	for name, doc := range bad {
		path := filepath.Join(dir, "bad-"+name+".xml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("xmllint", "--noout", "--schema", "calendar.xsd", path).Run(); err == nil {
			t.Errorf("%s: calendar.xsd accepts an invalid document:\n%s", name, doc)
		}
	}
}

// TestICSFoldsAnyBytes: a value that is not UTF-8 is still folded at 75
// octets, and one that is never has a character split.
func TestICSFoldsAnyBytes(t *testing.T) {
	t.Parallel()
	v := testView(t, "uid=jazz%40elmcity")
	ev := v.Events[0]
	ev.URL = "https://example.org/" + strings.Repeat("\xbf", 200)
	ev.Title = strings.Repeat("é", 100) + strings.Repeat("🎨", 30)
	v.Events = []hubcal.Event{ev}
	out := renderString(t, "ics", v)
	for _, line := range strings.Split(out, "\r\n") {
		if len(line) > 75 {
			t.Errorf("line of %d octets: %q", len(line), line)
		}
		if strings.HasPrefix(line, "SUMMARY") || strings.HasPrefix(line, " é") || strings.HasPrefix(line, " 🎨") {
			if !utf8Valid(line) {
				t.Errorf("folding split a character: %q", line)
			}
		}
	}
}

// TestCSVDefusesEveryCell gives every text column of an event a value a
// spreadsheet would run as a formula (OWASP CSV injection: a cell that
// starts with = + - @ TAB or CR) and checks that no cell of the output
// starts with one.
func TestCSVDefusesEveryCell(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, value string }{
		{"Equals", "=1+1"},
		{"Plus", "+cmd|' /C calc'!A0"},
		{"Minus", "-2+3"},
		{"At", "@SUM(1,1)"},
		{"Tab", "\t=1+1"},
		{"CR", "\r=1+1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := testView(t, "uid=jazz%40elmcity")
			ev := v.Events[0]
			ev.Title, ev.Description, ev.Location, ev.UID = tt.value, tt.value, tt.value, tt.value
			ev.URL = ""
			ev.Tags = []string{tt.value, "+x"} // CATEGORIES:=1+1,+x
			ev.Sources = []hubcal.Source{{Feed: "f-x", Name: tt.value}}
			v.Events = []hubcal.Event{ev}
			rows := readCSV(t, renderString(t, "csv", v))
			if len(rows) != 2 {
				t.Fatalf("CSV() has %d rows, want 2", len(rows))
			}
			for i, cell := range rows[1] {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("CSV() column %s = %q, want it defused", render.CSVHeader[i], cell)
				}
			}
			if got, want := rows[1][10], "'"+strings.TrimSpace(tt.value)+",+x"; tt.name != "Tab" && tt.name != "CR" && got != want {
				t.Errorf("CSV() Tags = %q, want %q", got, want)
			}
		})
	}
}

// TestOutputsWithoutBase: with no configured public URL (View.Base
// empty) no output writes an absolute link to the site; the page's links
// are relative, the RSS channel links to the hub page's path, and there
// is no webcal link, which would need a host.
func TestOutputsWithoutBase(t *testing.T) {
	t.Parallel()
	for name, fn := range allOutputs() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := testView(t, "view=music")
			v.Base = ""
			var buf bytes.Buffer
			if err := fn(&buf, v); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, bad := range []string{"webcal:", "://cal.example.org", "://keene", "http:///", "https:///"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s without a base has %q:\n%s", name, bad, out)
				}
			}
			switch name {
			case "html":
				if !strings.Contains(out, `<a href="/services/keene/ics">/services/keene/ics</a>`) || !strings.Contains(out, `href="/services/keene/ics?view=music"`) {
					t.Errorf("page without a base lacks the relative subscribe links:\n%s", out)
				}
			case "rss":
				if !strings.Contains(out, "<link>/keene?view=music</link>") || strings.Contains(out, "atom:link") {
					t.Errorf("RSS without a base lacks the channel link /keene?view=music, or has a self link:\n%s", out)
				}
			}
		})
	}
}
