package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/elmcity/elmcity/shared/feedcheck"
	"github.com/elmcity/elmcity/webrole/internal/api"
)

// TestFeedKindFields checks that the feed routes take and give kind,
// mapping, adapter and hosts: created, merged member by member by a
// PATCH, replaced by a PUT, removed with null, and refused with a 400
// naming the field when they do not fit together.
func TestFeedKindFields(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	code, f, _ := call(t, w.h, "POST", "/api/hubs/keene/feeds", w.curator,
		`{"feedurl":"https://club.example.org/events.csv","source":"Club","kind":"CSV",
		  "mapping":{"title":"Event","start_date":"Date","start_time":"Time","header":true,"date_format":"M/D/YYYY","tz":"America/Chicago"}}`)
	if code != 201 {
		t.Fatalf("POST csv feed = %d %v", code, f)
	}
	id := f["id"].(string)
	m, _ := f["mapping"].(map[string]any)
	if f["kind"] != "csv" || m["title"] != "Event" || m["header"] != true || m["tz"] != "America/Chicago" {
		t.Errorf("POST csv feed = %v, want kind csv and its mapping", f)
	}
	code, f, _ = call(t, w.h, "GET", "/api/hubs/keene/feeds/"+id, w.curator, "")
	if m, _ := f["mapping"].(map[string]any); code != 200 || f["kind"] != "csv" || m["date_format"] != "M/D/YYYY" {
		t.Errorf("GET csv feed = %d %v", code, f)
	}

	// A merge patch merges the mapping: a member set, one removed, the
	// others kept.
	code, f, _ = call(t, w.h, "PATCH", "/api/hubs/keene/feeds/"+id, w.curator, `{"mapping":{"location":"Venue","tz":null}}`)
	m, _ = f["mapping"].(map[string]any)
	if code != 200 || m["location"] != "Venue" || m["title"] != "Event" || m["tz"] != nil || m["header"] != true {
		t.Errorf("PATCH mapping = %d %v, want location added, tz removed, the rest kept", code, f)
	}
	// A mapping that no longer fits is a 400 naming mapping, and nothing
	// changes.
	code, body, _ := call(t, w.h, "PATCH", "/api/hubs/keene/feeds/"+id, w.curator, `{"mapping":{"title":null}}`)
	if fields := errorFields(body); code != 400 || !strings.Contains(fields["mapping"], "title") {
		t.Errorf("PATCH removing the title column = %d %v, want 400 naming mapping and title", code, body)
	}
	code, body, _ = call(t, w.h, "PATCH", "/api/hubs/keene/feeds/"+id, w.curator, `{"mapping":{"colour":"red"}}`)
	if fields := errorFields(body); code != 400 || fields["colour"] == "" {
		t.Errorf("PATCH an unknown mapping member = %d %v, want 400 naming it", code, body)
	}
	code, body, _ = call(t, w.h, "PATCH", "/api/hubs/keene/feeds/"+id, w.curator, `{"mapping":{"header":"yes"}}`)
	if fields := errorFields(body); code != 400 || len(fields) == 0 {
		t.Errorf("PATCH header as a string = %d %v, want 400 naming it", code, body)
	}
	// Back to iCalendar: the kind and the mapping go together.
	code, body, _ = call(t, w.h, "PATCH", "/api/hubs/keene/feeds/"+id, w.curator, `{"kind":"ics"}`)
	if fields := errorFields(body); code != 400 || fields["mapping"] == "" {
		t.Errorf("PATCH kind ics keeping the mapping = %d %v, want 400 naming mapping", code, body)
	}
	code, f, _ = call(t, w.h, "PATCH", "/api/hubs/keene/feeds/"+id, w.curator, `{"kind":"ics","mapping":null}`)
	if _, has := f["mapping"]; code != 200 || has || f["kind"] != nil {
		t.Errorf("PATCH to ics = %d %v, want no kind (ics) and no mapping", code, f)
	}

	// A script feed names its adapter and the hosts it may reach.
	code, f, hdr := call(t, w.h, "POST", "/api/hubs/keene/feeds", w.curator,
		`{"feedurl":"https://theatre.example.org/whats-on","source":"Theatre","kind":"script","adapter":"theatre","hosts":["API.theatre.example.org"]}`)
	hosts, _ := f["hosts"].([]any)
	if code != 201 || f["kind"] != "script" || f["adapter"] != "theatre" || len(hosts) != 1 || hosts[0] != "api.theatre.example.org" {
		t.Fatalf("POST script feed = %d %v", code, f)
	}
	sid := f["id"].(string)
	req := httptest.NewRequest("PUT", "/api/hubs/keene/feeds/"+sid, strings.NewReader(`{"source":"Theatre","kind":"jsonld","mapping":{"tz":"Europe/London"}}`))
	req.Header.Set("Authorization", "Bearer "+w.curator)
	req.Header.Set("If-Match", hdr.Get("ETag"))
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	var put map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &put)
	if rec.Code != 200 || put["kind"] != "jsonld" || put["adapter"] != nil || put["hosts"] != nil {
		t.Errorf("PUT as jsonld = %d %v, want kind jsonld without adapter or hosts", rec.Code, put)
	}

	tests := []struct {
		name      string
		body      string
		wantField string
	}{
		{name: "UnknownKind", body: `{"kind":"xls"}`, wantField: "kind"},
		{name: "CSVWithoutMapping", body: `{"kind":"csv"}`, wantField: "mapping"},
		{name: "CSVWithoutTitle", body: `{"kind":"csv","mapping":{"start_date":"1"}}`, wantField: "mapping"},
		{name: "CSVNamedColumnWithoutHeader", body: `{"kind":"csv","mapping":{"title":"Event","start_date":"1"}}`, wantField: "mapping"},
		{name: "BadZone", body: `{"kind":"jsonld","mapping":{"tz":"Mars/Olympus"}}`, wantField: "mapping"},
		{name: "JSONLDWithColumns", body: `{"kind":"jsonld","mapping":{"title":"name"}}`, wantField: "mapping"},
		{name: "ICSWithMapping", body: `{"mapping":{"tz":"Europe/Paris"}}`, wantField: "mapping"},
		{name: "ScriptWithoutAdapter", body: `{"kind":"script"}`, wantField: "adapter"},
		{name: "BadAdapterName", body: `{"kind":"script","adapter":"../etc/passwd"}`, wantField: "adapter"},
		{name: "AdapterOnICS", body: `{"adapter":"theatre"}`, wantField: "adapter"},
		{name: "HostsOnCSV", body: `{"kind":"json","mapping":{"title":"t","start_date":"s"},"hosts":["a.example.org"]}`, wantField: "hosts"},
		{name: "HostWithPath", body: `{"kind":"script","adapter":"x","hosts":["a.example.org/x"]}`, wantField: "hosts"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := fmt.Sprintf(`{"feedurl":"https://e.org/%d","source":"S",`, i) + strings.TrimPrefix(tt.body, "{")
			code, out, _ := call(t, w.h, "POST", "/api/hubs/keene/feeds", w.curator, body)
			if fields := errorFields(out); code != 400 || fields[tt.wantField] == "" {
				t.Errorf("POST %s = %d %v, want 400 naming %s", body, code, out, tt.wantField)
			}
		})
	}
}

// errorFields is the fields map of an error answer.
func errorFields(body map[string]any) map[string]string {
	out := map[string]string{}
	e, _ := body["error"].(map[string]any)
	fields, _ := e["fields"].(map[string]any)
	for k, v := range fields {
		out[k], _ = v.(string)
	}
	return out
}

// TestCheckFeedKinds checks each kind that is not iCalendar through POST
// /api/hubs/{hub}/check, served from 127.0.0.1: the report carries the
// conversion's (items, events, skipped and why) and then the usual one,
// with the hub's zone placing times without an offset.
func TestCheckFeedKinds(t *testing.T) {
	t.Parallel()
	day := time.Now().AddDate(0, 0, 3)
	iso := day.Format("2006-01-02")
	us := day.Format("1/2/2006")
	files := map[string]string{
		"/events.csv": "Event,Date,Time,Venue\r\n" +
			"Chess night," + us + ",7:00 PM,Library\r\n" +
			"Book sale," + us + ",,Town hall\r\n" +
			"No date,,,Nowhere\r\n",
		"/page.html": `<html><head><script type="application/ld+json">{"@context":"https://schema.org","@graph":[
			{"@type":"TheaterEvent","@id":"https://theatre.example.org/e/1","name":"Hamlet","startDate":"` + iso + `T19:30","location":{"@type":"Place","name":"Main stage"}},
			{"@type":"Event","name":"Gala","startDate":"` + iso + `T20:00","eventStatus":"https://schema.org/EventCancelled"}]}</script></head><body>Whats on</body></html>`,
		"/api.json": `{"data":{"events":[{"name":"Swim","when":"` + iso + `T08:00:00-05:00","place":{"name":"Pool"}},{"name":"Orphan"}]}}`,
		"/feed.rss": `<?xml version="1.0"?><rss version="2.0" xmlns:ev="http://purl.org/rss/1.0/modules/event/"><channel><title>Club</title>
			<item><title>Walk</title><guid>walk-1</guid><ev:startdate>` + iso + `T10:00:00</ev:startdate><ev:location>Park</ev:location></item>
			<item><title>News</title><guid>news-1</guid><pubDate>Mon, 06 Jan 2025 10:00:00 GMT</pubDate></item></channel></rss>`,
	}
	feeds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(feeds.Close)
	w := checkWorld(t, true, api.CheckConfig{PerMinute: 100})

	tests := []struct {
		name                   string
		body                   string
		items, events, skipped int
		verdict                string
		wantTitle              string
		wantHour               int
		wantWarning            string
	}{
		{name: "CSV", body: `{"feedurl":"%s/events.csv","kind":"csv","mapping":{"title":"Event","start_date":"Date","start_time":"Time","location":"Venue","header":true,"date_format":"M/D/YYYY"}}`,
			items: 3, events: 2, skipped: 1, verdict: feedcheck.VerdictUsable, wantTitle: "Book sale", wantWarning: "row"},
		{name: "JSONLD", body: `{"feedurl":"%s/page.html","kind":"jsonld"}`,
			items: 2, events: 2, verdict: feedcheck.VerdictOK, wantTitle: "Hamlet", wantHour: 19, wantWarning: "jsonld-local-time"},
		{name: "JSONWithPath", body: `{"feedurl":"%s/api.json","kind":"json","mapping":{"path":"data.events","title":"name","start_date":"when","location":"place.name"}}`,
			items: 2, events: 1, skipped: 1, verdict: feedcheck.VerdictUsable, wantTitle: "Swim", wantHour: 8},
		{name: "RSS", body: `{"feedurl":"%s/feed.rss","kind":"rss"}`,
			items: 2, events: 1, skipped: 1, verdict: feedcheck.VerdictUsable, wantTitle: "Walk", wantHour: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { // not parallel: a curator runs one check at a time
			code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, fmt.Sprintf(tt.body, feeds.URL))
			var rep feedcheck.Report
			b, _ := json.Marshal(body)
			_ = json.Unmarshal(b, &rep)
			c := rep.Conversion
			if code != 200 || c == nil {
				t.Fatalf("check = %d %v, want a report with a conversion", code, body)
			}
			if c.Items != tt.items || c.Events != tt.events || c.Skipped != tt.skipped || c.Bytes == 0 {
				t.Errorf("conversion = %+v, want %d items, %d events, %d skipped", c, tt.items, tt.events, tt.skipped)
			}
			if rep.Verdict != tt.verdict || rep.Events.Usable != tt.events || rep.Zone != "America/New_York" {
				t.Errorf("report = verdict %s, %d usable events, zone %q; want %s, %d, America/New_York (%v)", rep.Verdict, rep.Events.Usable, rep.Zone, tt.verdict, tt.events, rep.Warnings)
			}
			if tt.wantWarning != "" && !strings.Contains(strings.Join(c.Warnings, "\n"), tt.wantWarning) {
				t.Errorf("conversion warnings = %q, want one about %q", c.Warnings, tt.wantWarning)
			}
			var found bool
			for _, o := range rep.Next {
				if o.Title == tt.wantTitle {
					found = true
					if tt.wantHour != 0 && o.Start.Hour() != tt.wantHour {
						t.Errorf("%s starts %v, want %d:00 in the hub's zone", o.Title, o.Start, tt.wantHour)
					}
				}
			}
			if !found {
				t.Errorf("next = %+v, want %q", rep.Next, tt.wantTitle)
			}
		})
	}

	t.Run("NotOfItsKind", func(t *testing.T) {
		code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, `{"feedurl":"`+feeds.URL+`/events.csv","kind":"rss"}`)
		conv, _ := body["conversion"].(map[string]any)
		if code != 200 || body["verdict"] != "unusable" || body["failure_class"] != "convert" || conv == nil || conv["failure"] == "" {
			t.Errorf("check of CSV as rss = %d %v, want unusable (convert) with the conversion's failure", code, body)
		}
	})
	t.Run("BadMapping", func(t *testing.T) {
		code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, `{"feedurl":"`+feeds.URL+`/events.csv","kind":"csv","mapping":{"title":"Event"}}`)
		if fields := errorFields(body); code != 400 || !strings.Contains(fields["mapping"], "start_date") {
			t.Errorf("check with no start_date = %d %v, want 400 naming mapping", code, body)
		}
	})
	t.Run("ScriptWithoutAdapter", func(t *testing.T) {
		code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, `{"feedurl":"`+feeds.URL+`/page.html","kind":"script"}`)
		if fields := errorFields(body); code != 400 || fields["adapter"] == "" {
			t.Errorf("check of a script feed without an adapter = %d %v, want 400 naming adapter", code, body)
		}
	})
	t.Run("ScriptNotItsSource", func(t *testing.T) {
		// The repository's example adapter reads a JSON API; a web page
		// makes it throw.
		code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, `{"feedurl":"`+feeds.URL+`/page.html","kind":"script","adapter":"example"}`)
		conv, _ := body["conversion"].(map[string]any)
		if failure, _ := body["failure"].(string); code != 200 || body["failure_class"] != "script" || !strings.Contains(failure, "adapters/example.js:") || conv["adapter"] != "example" {
			t.Errorf("check of a page with the example adapter = %d %v, want unusable (script) with the file and line", code, body)
		}
	})
	t.Run("ICSUnchanged", func(t *testing.T) {
		code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/check", w.curator, `{"feedurl":"`+feeds.URL+`/events.csv","kind":"ics"}`)
		if _, has := body["conversion"]; code != 200 || has || body["failure_class"] != "parse" {
			t.Errorf("check of CSV as ics = %d %v, want a parse failure and no conversion", code, body)
		}
	})
}

// TestFeedKindSchemas checks feeds of every kind and a check report
// with a conversion against the OpenAPI document's schemas, closed: a
// field the answers carry that the document does not describe fails.
func TestFeedKindSchemas(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	schemas := openAPISchemas(t, w.h, true, "Feed", "FeedInput", "CheckReport")
	for i, body := range []string{
		`"kind":"csv","mapping":{"title":"1","start_date":"2","start_time":"3","end_date":"4","end_time":"5","all_day":"6","location":"7","url":"8","description":"9","categories":"10","uid":"11","status":"12","date_format":"D.M.YYYY","tz":"Europe/Berlin","header":false,"delimiter":";"}`,
		`"kind":"json","mapping":{"title":"name","start_date":"when","duration":"length","path":"data.events"}`,
		`"kind":"jsonld","mapping":{"tz":"Europe/London"}`,
		`"kind":"rss","mapping":{"start_date":"pubDate"}`,
		`"kind":"script","adapter":"theatre","hosts":["api.theatre.example.org"]`,
	} {
		in := fmt.Sprintf(`{"feedurl":"https://e.org/%d","source":"S",%s}`, i, body)
		if err := schemas["FeedInput"].Validate(jsonAny(t, json.RawMessage(in))); err != nil {
			t.Errorf("FeedInput %s: %v", in, err)
		}
		code, out, _ := call(t, w.h, "POST", "/api/hubs/keene/feeds", w.curator, in)
		if code != 201 {
			t.Fatalf("POST %s = %d %v", in, code, out)
		}
		if err := schemas["Feed"].Validate(jsonAny(t, out)); err != nil {
			t.Errorf("Feed %v: %v", out, err)
		}
	}
	rep := feedcheck.Unreadable("https://e.org/x.csv", "it is not a usable csv source", "convert", 200)
	rep.Conversion = &feedcheck.Conversion{Kind: "csv", Bytes: 10, Items: 2, Events: 1, Skipped: 1,
		Warnings: []string{"row 2 skipped: no start date"}, MoreWarnings: 1, Failure: "it is not a usable csv source"}
	if err := schemas["CheckReport"].Validate(jsonAny(t, rep)); err != nil {
		t.Errorf("CheckReport with a conversion: %v", err)
	}
}

// jsonAny is v as the schema validator reads JSON.
func jsonAny(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}
