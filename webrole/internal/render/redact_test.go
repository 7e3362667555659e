package render_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

func TestPublicFeedURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "https://library.example.org/events.ics", "https://library.example.org/events.ics"},
		{"Port", "http://library.example.org:8080/events.ics", "http://library.example.org:8080/events.ics"},
		{"UserInfo", "https://ann:SECRET@cal.example.org/feed.ics", "https://cal.example.org/feed.ics"},
		{"Query", "https://example.org/cal.ics?format=ics&token=SECRET", "https://example.org/cal.ics"},
		{"SemicolonQuery", "https://example.org/cal.ics?a=1;token=SECRET", "https://example.org/cal.ics"},
		{"UnknownName", "https://example.org/cal.ics?authtoken=SECRET", "https://example.org/cal.ics"},
		{"BadEscapeInQuery", "https://example.org/cal.ics?token=SECRET%zz", "https://example.org/cal.ics"},
		{"Fragment", "https://example.org/cal.ics#SECRET", "https://example.org/cal.ics"},
		{"PathParameter", "https://example.org/cal.ics;jsessionid=SECRET", "https://example.org/cal.ics"},
		{"Webcal", "webcal://example.org/cal.ics?key=SECRET", "https://example.org/cal.ics"},
		{"EscapedPathKept", "https://calendar.google.com/calendar/ical/abc%40group.calendar.google.com/public/basic.ics", "https://calendar.google.com/calendar/ical/abc%40group.calendar.google.com/public/basic.ics"},
		{"PrivateAddress", "https://calendar.google.com/calendar/ical/abc%40group.calendar.google.com/private-SECRET/basic.ics", ""},
		{"PrivateAddressWithParameter", "https://example.org/x;y/private_SECRET/basic.ics", ""},
		{"JavaScript", "javascript:alert(1)//example.org/cal.ics", ""},
		{"Relative", "/cal.ics", ""},
		{"IRI", "https://bücher.example/kalender/café.ics?token=x", "https://xn--bcher-kva.example/kalender/caf%C3%A9.ics"},
		{"NotAURL", "not a url", ""},
		{"Empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := render.PublicFeedURL(tt.in); got != tt.want {
				t.Errorf("PublicFeedURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// hostileURLs are links a feed may carry that must reach no output as
// they are: each holds XSSMARK, which no output may then contain. safe
// is what SafeURL makes of it.
var hostileURLs = []struct{ name, url, safe string }{
	{"JavaScript", "javascript:alert('XSSMARK')", ""},
	{"MixedCase", "JaVaScRiPt:alert('XSSMARK')", ""},
	{"LeadingSpace", "  \t\njavascript:alert('XSSMARK')", ""},
	{"LeadingControl", "\x01\x1fjavascript:alert('XSSMARK')", ""},
	{"EmbeddedTab", "java\tscript:alert('XSSMARK')", ""},
	{"EmbeddedNewline", "java\nscript:alert('XSSMARK')", ""},
	{"Data", "data:text/html,<script>alert('XSSMARK')</script>", ""},
	{"DataBase64", "DATA:text/html;base64,XSSMARK", ""},
	{"VBScript", "vbscript:msgbox(\"XSSMARK\")", ""},
	{"Entity", "javascript&#58;alert('XSSMARK')", ""},
	{"EntityScheme", "&#106;avascript:alert('XSSMARK')", ""},
	{"PercentScheme", "%6Aavascript:alert('XSSMARK')", ""},
	{"PercentColon", "javascript%3Aalert('XSSMARK')", ""},
	{"ProtocolRelative", "//XSSMARK.example/x", ""},
	{"File", "file:///etc/XSSMARK", ""},
	{"FTP", "ftp://XSSMARK.example/x", ""},
	{"NoHost", "https:XSSMARK", ""},
	{"QueryOnly", "https://?XSSMARK", ""},
	{"UserInfo", "https://XSSMARK:pw@example.org/", "https://example.org/"},
}

// TestSafeURL: SafeURL keeps absolute http(s) URLs and drops everything
// else.
func TestSafeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"HTTPS", "https://theatre.example.org/jazz?id=4#tickets", "https://theatre.example.org/jazz?id=4#tickets"},
		{"HTTP", "http://theatre.example.org/", "http://theatre.example.org/"},
		{"UpperCaseScheme", "HTTPS://theatre.example.org/jazz", "https://theatre.example.org/jazz"},
		{"SurroundingSpace", "  https://theatre.example.org/jazz ", "https://theatre.example.org/jazz"},
		{"Space", "https://theatre.example.org/jazz night", "https://theatre.example.org/jazz%20night"},
		{"AtInPath", "https://calendar.example.org/a@b.org/x", "https://calendar.example.org/a@b.org/x"},
		// Every link is a URI (RFC 3986), never an IRI: RSS validators
		// report UriNotIri, and some readers cannot follow one.
		{"IRIPath", "https://example.org/café/😀", "https://example.org/caf%C3%A9/%F0%9F%98%80"},
		{"IRIQuery", "https://example.org/search?q=café&x=日本", "https://example.org/search?q=caf%C3%A9&x=%E6%97%A5%E6%9C%AC"},
		{"IRIFragment", "https://example.org/#été", "https://example.org/#%C3%A9t%C3%A9"},
		{"IRIHost", "https://例え.jp/x", "https://xn--r8jz45g.jp/x"},
		{"IRIHostPort", "https://bücher.example:8443/x", "https://xn--bcher-kva.example:8443/x"},
		{"AngleBracketsInQuery", `https://example.org/a?x=<b>&y="c"`, "https://example.org/a?x=%3Cb%3E&y=%22c%22"},
		{"AngleBracketsInPath", "https://example.org/<b>", "https://example.org/%3Cb%3E"},
		{"LoneBraceAndPipe", "https://example.org/a?x={1}|2", "https://example.org/a?x=%7B1%7D%7C2"},
		{"EscapesKept", "https://example.org/a%20b?q=a%2Fb", "https://example.org/a%20b?q=a%2Fb"},
		{"LonePercentInQuery", "https://example.org/?q=100%", "https://example.org/?q=100%25"},
		{"BadEscapeInPath", "https://example.org/a%zz", ""},
		{"Empty", "", ""},
	}
	for _, h := range hostileURLs {
		tests = append(tests, struct{ name, in, want string }{h.name, h.url, h.safe})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := render.SafeURL(tt.in); got != tt.want {
				t.Errorf("SafeURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestNoOutputCarriesADangerousURL puts each hostile URL in an event's
// URL, its first source's URL, a feed's home and feed URLs and the run
// header's feed URL, and renders every output: none may carry it, and
// the event links to what SafeURL made of it or, failing that, to its
// second source's safe link.
func TestNoOutputCarriesADangerousURL(t *testing.T) {
	t.Parallel()
	for _, h := range hostileURLs {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			v := testView(t, "uid=jazz%40elmcity")
			ev := v.Events[0]
			ev.URL = h.url
			ev.Sources = []hubcal.Source{
				{Feed: "f-thr", Name: "Colonial Theatre", URL: h.url},
				{Feed: "f-lib", Name: "Keene Library", URL: "https://library.example.org/events"},
			}
			v.Events = []hubcal.Event{ev}
			v.Cal.Feeds[0].HomeURL, v.Cal.Feeds[0].FeedURL = h.url, h.url
			v.Cal.Run = runHeader(t, map[string]any{"feed": "f-thr", "source": "Colonial Theatre", "url": h.url, "status": "ok"})
			for name, render := range allOutputs() {
				var buf bytes.Buffer
				if err := render(&buf, v); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				out := strings.ToLower(buf.String())
				if strings.Contains(out, "xssmark") {
					t.Errorf("%s carries %q:\n%s", name, h.url, buf.String())
				}
				if want := cmp.Or(h.safe, "https://library.example.org/events"); name != "stats" && name != "tags_json" && !strings.Contains(out, want) {
					t.Errorf("%s lacks the safe link %s", name, want)
				}
			}
		})
	}
}

// TestEveryOutputWritesURIs gives an event, its sources and a feed
// links with non-ASCII and characters a URI cannot hold: every output
// writes each as a URI (percent-encoded, punycode host), never as it
// came.
func TestEveryOutputWritesURIs(t *testing.T) {
	t.Parallel()
	const iri = "https://bücher.example/événements/été?q=<a> b&r=日本#frag ü"
	const uri = "https://xn--bcher-kva.example/%C3%A9v%C3%A9nements/%C3%A9t%C3%A9?q=%3Ca%3E%20b&r=%E6%97%A5%E6%9C%AC#frag%20%C3%BC"
	v := testView(t, "uid=jazz%40elmcity")
	ev := v.Events[0]
	ev.URL = iri
	ev.Sources = []hubcal.Source{{Feed: "f-thr", Name: "Colonial Theatre", URL: iri}}
	v.Events = []hubcal.Event{ev}
	v.Cal.Feeds[0].HomeURL = iri
	for name, render := range allOutputs() {
		var buf bytes.Buffer
		if err := render(&buf, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out := buf.String()
		if strings.Contains(out, "bücher") || strings.Contains(out, "<a> b") {
			t.Errorf("%s writes the IRI as it came:\n%s", name, out)
		}
		if name == "stats" || name == "tags_json" {
			continue
		}
		want := uri
		switch name {
		case "ics": // folded: compare unfolded
			out = strings.ReplaceAll(out, "\r\n ", "")
		case "html", "fragment": // & is written as &amp; in HTML
			want = strings.ReplaceAll(uri, "&", "&amp;")
		case "rss", "xml":
			want = strings.ReplaceAll(uri, "&", "&amp;")
		case "json":
			want = strings.ReplaceAll(uri, "&", `\u0026`)
		}
		if !strings.Contains(out, want) {
			t.Errorf("%s lacks the URI %s:\n%s", name, want, out)
		}
	}
}

// TestStatsPageHidesFeedSecrets: the public report shows a feed URL as
// scheme, host and path, and never its credentials, in its link or in
// an error that quotes the URL.
func TestStatsPageHidesFeedSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, url, want string }{
		{"UserInfoAndQuery", "https://ann:SECRET@cal.example.org/feed.ics?token=SECRET", "https://cal.example.org/feed.ics"},
		{"Semicolon", "https://cal.example.org/feed.ics?a=1;token=SECRET", "https://cal.example.org/feed.ics"},
		{"UnknownName", "https://cal.example.org/feed.ics?authtoken=SECRET", "https://cal.example.org/feed.ics"},
		{"PrivateAddress", "https://calendar.google.com/calendar/ical/a%40b.org/private-SECRET/basic.ics", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cal := testCalendar(t)
			cal.Run = runHeader(t, map[string]any{"feed": "f1", "source": "Club", "url": tt.url, "status": "failed",
				"error_class": "http_4xx", "http_status": 403, "error": "GET " + tt.url + ": 403"})
			var b strings.Builder
			if err := render.StatsPage(&b, cal); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "SECRET") {
				t.Errorf("StatsPage() shows SECRET:\n%s", b.String())
			}
			if tt.want != "" && !strings.Contains(b.String(), `href="`+tt.want+`"`) {
				t.Errorf("StatsPage() lacks the link %q", tt.want)
			}
		})
	}
}

// TestStatsPageShowsNoErrorText: a failed feed reads as its error class
// in words and its HTTP status; the error text, which names the worker's
// resolver, addresses and ports, stays in the curator API.
func TestStatsPageShowsNoErrorText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, class string
		status      int
		err, want   string
	}{
		{"DNS", "dns", 0, "lookup cal.example.org on 10.255.255.53:53: no such host", "host name not found"},
		{"Blocked", "blocked", 0, "dial tcp4 127.0.0.1:6379: check tcp4 address 127.0.0.1: address not allowed", "address not allowed"},
		{"Connect", "connect", 0, "dial tcp 192.0.2.7:443: connect: connection refused", "could not connect"},
		{"Timeout", "timeout", 0, "Get \"https://cal.example.org/feed.ics\": dial tcp 192.0.2.7:443: i/o timeout", "timed out"},
		{"HTTP", "http_5xx", 503, "get https://cal.example.org/feed.ics: unexpected http status 503 from backend 10.1.2.3", "server error (HTTP 503)"},
		{"Parse", "parse", 200, "parse: line 3: bad DTSTART in 10.0.0.9 export", "not a usable calendar (HTTP 200)"},
		{"UnknownClass", "weird<b>", 0, "panic at 10.0.0.1", "fetch failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cal := pageCalendar(t)
			cal.Run = runHeader(t, map[string]any{"feed": "f1", "source": "Club", "url": "https://cal.example.org/feed.ics", "status": "failed",
				"error_class": tt.class, "http_status": tt.status, "error": tt.err})
			var b strings.Builder
			if err := render.StatsPage(&b, cal); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, leak := range []string{tt.err, "10.255.255.53", "10.1.2.3", "10.0.0.9", "10.0.0.1", "127.0.0.1", "192.0.2.7", "weird"} {
				if strings.Contains(out, leak) {
					t.Errorf("StatsPage() shows %q", leak)
				}
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("StatsPage() lacks %q", tt.want)
			}
		})
	}
}

// runHeader is a run header with the one feed f.
func runHeader(t *testing.T, f map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"feeds": []map[string]any{f}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
