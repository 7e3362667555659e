package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// TestHeadAnswersLikeGet sends HEAD and GET for the same URLs to a real
// server: HEAD gets the status and headers of GET, and no body.
func TestHeadAnswersLikeGet(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	publishUpcoming(t, w.cals, time.Now())
	srv := httptest.NewServer(w.h)
	t.Cleanup(srv.Close)
	tests := []struct {
		name, path string
		code       int
	}{
		{"HubPage", "/keene", 200},
		{"ICS", "/services/keene/ics", 200},
		{"JSON", "/services/keene/json?view=music", 200},
		{"Alias", "/keene/ics", 200},
		{"Stats", "/services/keene/stats", 200},
		{"OpenAPI", "/api/openapi.json", 200},
		{"Probe", "/healthz", 200},
		{"BadFilter", "/services/keene/ics?days=0", 400},
		{"UnknownHub", "/nosuchhub", 404},
		{"Token", "/api/hubs", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			get := fetch(t, http.MethodGet, srv.URL+tt.path, nil)
			head := fetch(t, http.MethodHead, srv.URL+tt.path, nil)
			if get.code != tt.code || head.code != tt.code {
				t.Fatalf("GET %s = %d, HEAD = %d, want %d", tt.path, get.code, head.code, tt.code)
			}
			if head.body != "" {
				t.Errorf("HEAD %s has a body: %.100q", tt.path, head.body)
			}
			for _, k := range []string{"Content-Type", "ETag", "Last-Modified", "Cache-Control", "Access-Control-Allow-Origin", "Content-Security-Policy"} {
				if g, h := get.header.Get(k), head.header.Get(k); g != h {
					t.Errorf("%s: GET %q, HEAD %q", k, g, h)
				}
			}
			if cl := head.header.Get("Content-Length"); get.header.Get("ETag") != "" && cl != strconv.Itoa(len(get.body)) {
				t.Errorf("HEAD Content-Length = %q, want %d", cl, len(get.body))
			}
		})
	}
}

// response is a fetched answer.
type response struct {
	code   int
	header http.Header
	body   string
}

// fetch sends one request with a plain client (no redirects followed,
// no compression asked for) and reads the answer.
func fetch(t testing.TB, method, u string, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: string(body)}
}

// TestOutputsCORS checks what a browser on another site needs: a
// preflight for a conditional GET, the ETag and Last-Modified exposed,
// and CORS on errors and 304s too; none of it for a query script.
func TestOutputsCORS(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	publishUpcoming(t, w.cals, time.Now())
	origin := "https://elsewhere.example"
	t.Run("Preflight", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{"/services/keene/json", "/keene", "/keene/ics", "/keene/ics/soon"} {
			rec := do(t, w.h, http.MethodOptions, p, map[string]string{
				"Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-none-match",
			})
			h := rec.Header()
			if rec.Code != 204 || h.Get("Access-Control-Allow-Origin") != "*" ||
				!strings.Contains(h.Get("Access-Control-Allow-Methods"), "GET") ||
				!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "if-none-match") ||
				h.Get("Access-Control-Max-Age") == "" {
				t.Errorf("OPTIONS %s = %d %v, want 204 allowing a conditional GET from any origin", p, rec.Code, h)
			}
		}
		rec := do(t, w.h, http.MethodOptions, "/services/keene/log_info", map[string]string{"Origin": origin, "Access-Control-Request-Method": "GET"})
		if rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("OPTIONS of a query script allows CORS: %v", rec.Header())
		}
	})
	t.Run("Answers", func(t *testing.T) {
		t.Parallel()
		ok := do(t, w.h, http.MethodGet, "/services/keene/json", map[string]string{"Origin": origin})
		tests := []struct {
			name, path string
			hdr        map[string]string
			code       int
		}{
			{"OK", "/services/keene/json", nil, 200},
			{"NotModified", "/services/keene/json", map[string]string{"If-None-Match": ok.Header().Get("ETag")}, 304},
			{"BadFilter", "/services/keene/json?days=0", nil, 400},
			{"UnknownHub", "/services/nosuchhub/json", nil, 404},
			{"UnknownEvent", "/services/keene/json?uid=nosuchevent", nil, 404},
			{"HubPage404", "/nosuchhub", nil, 404},
			{"Alias", "/keene/json", nil, 200},
			{"AliasUnknownFormat", "/keene/nosuchformat", nil, 404},
			{"SoonBad", "/keene/json/soon", nil, 400},
		}
		for _, tt := range tests {
			hdr := map[string]string{"Origin": origin}
			for k, v := range tt.hdr {
				hdr[k] = v
			}
			rec := do(t, w.h, http.MethodGet, tt.path, hdr)
			if rec.Code != tt.code {
				t.Errorf("%s: GET %s = %d, want %d", tt.name, tt.path, rec.Code, tt.code)
			}
			if rec.Header().Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(rec.Header().Get("Access-Control-Expose-Headers"), "ETag") {
				t.Errorf("%s: GET %s CORS headers = %v, want * exposing ETag", tt.name, tt.path, rec.Header())
			}
		}
		if got := do(t, w.h, http.MethodGet, "/services/keene/log_info", map[string]string{"Origin": origin}).Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("a query script's answer allows origin %q", got)
		}
	})
}

// TestUIDNamingNoEventIsNotFound: an add-to-calendar link to an event
// that is not in the calendar is a 404 in every format, never an empty
// calendar.
func TestUIDNamingNoEventIsNotFound(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	publishUpcoming(t, w.cals, time.Now())
	for _, f := range []string{"ics", "json", "html", "rss", "csv"} {
		if rec := do(t, w.h, http.MethodGet, "/services/keene/"+f+"?uid=gone%40elmcity", nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), `"not_found"`) {
			t.Errorf("%s with an unknown uid = %d %.200s, want 404 not_found", f, rec.Code, rec.Body)
		}
		if rec := do(t, w.h, http.MethodGet, "/services/keene/"+f+"?uid=jazz%40elmcity", nil); rec.Code != 200 {
			t.Errorf("%s with a known uid = %d, want 200", f, rec.Code)
		}
	}
	if rec := do(t, w.h, http.MethodGet, "/services/keene/ics?uid=jazz%40elmcity&view=kids", nil); rec.Code != 404 {
		t.Errorf("a uid outside the view = %d, want 404", rec.Code)
	}
}

// TestOutputAliases: /{hub}/{format} answers as /services/{hub}/{format}
// does, and runs no query script.
func TestOutputAliases(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	publishUpcoming(t, w.cals, time.Now())
	for _, f := range []string{"ics", "json", "rss", "html", "tags_json"} {
		want := do(t, w.h, http.MethodGet, "/services/keene/"+f+"?view=music", nil)
		got := do(t, w.h, http.MethodGet, "/keene/"+f+"?view=music", nil)
		if got.Code != 200 || got.Body.String() != want.Body.String() || got.Header().Get("ETag") != want.Header().Get("ETag") {
			t.Errorf("GET /keene/%s = %d %q, want the answer of /services/keene/%s", f, got.Code, got.Header().Get("ETag"), f)
		}
	}
	for _, p := range []string{"/keene/log_info", "/keene/nosuch", "/nosuchhub/ics"} {
		if rec := do(t, w.h, http.MethodGet, p, map[string]string{"Authorization": "Bearer " + adminToken}); rec.Code != 404 {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
	}
}

// TestOutputSoon: /{hub}/{format}/soon?hours=N (or days=N) redirects to
// the window from now, keeping the other parameters.
func TestOutputSoon(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Date(2026, 12, 5, 15, 7, 30, 0, time.UTC)
	clock := &testClock{now: now}
	tests := []struct {
		name, publicURL, path string
		code                  int
		want                  string // Location, or the field a 400 names
	}{
		{name: "Hours", path: "/keene/ics/soon?hours=3", code: 302,
			want: "/services/keene/ics?from=2026-12-05T15%3A05%3A00Z&to=2026-12-05T18%3A05%3A00Z"},
		{name: "DaysKeepsTheView", path: "/keene/json/soon?days=2&view=music", code: 302,
			want: "/services/keene/json?from=2026-12-05T15%3A05%3A00Z&to=2026-12-07T15%3A05%3A00Z&view=music"},
		{name: "PublicURL", publicURL: "https://cal.example.org", path: "/keene/rss/soon?hours=1", code: 302,
			want: "https://cal.example.org/services/keene/rss?from=2026-12-05T15%3A05%3A00Z&to=2026-12-05T16%3A05%3A00Z"},
		{name: "Neither", path: "/keene/ics/soon", code: 400, want: "hours"},
		{name: "Both", path: "/keene/ics/soon?hours=1&days=1", code: 400, want: "hours"},
		{name: "ZeroHours", path: "/keene/ics/soon?hours=0", code: 400, want: "hours"},
		{name: "BadDays", path: "/keene/ics/soon?days=x", code: 400, want: "days"},
		{name: "UnknownFormat", path: "/keene/nosuch/soon?hours=1", code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newInstance(t, w.testBundle, clock, outputs.Config{PublicURL: tt.publicURL})
			rec := do(t, h, http.MethodGet, tt.path, nil)
			if rec.Code != tt.code {
				t.Fatalf("GET %s = %d %s, want %d", tt.path, rec.Code, rec.Body, tt.code)
			}
			switch tt.code {
			case 302:
				if got := rec.Header().Get("Location"); got != tt.want {
					t.Errorf("GET %s Location = %q, want %q", tt.path, got, tt.want)
				}
				if got := rec.Header().Get("Cache-Control"); got != "no-store" {
					t.Errorf("GET %s Cache-Control = %q, want no-store", tt.path, got)
				}
			case 400:
				if !strings.Contains(rec.Body.String(), `"`+tt.want+`"`) {
					t.Errorf("GET %s = %s, want the error to name %s", tt.path, rec.Body, tt.want)
				}
			}
		})
	}
	t.Run("Follow", func(t *testing.T) {
		t.Parallel()
		publishUpcoming(t, w.cals, time.Now())
		rec := do(t, w.h, http.MethodGet, "/keene/ics/soon?days=7", nil)
		loc, err := url.Parse(rec.Header().Get("Location"))
		if rec.Code != 302 || err != nil {
			t.Fatalf("GET soon = %d %q", rec.Code, rec.Header().Get("Location"))
		}
		got := do(t, w.h, http.MethodGet, loc.RequestURI(), nil)
		if got.Code != 200 || strings.Count(got.Body.String(), "BEGIN:VEVENT") != 6 {
			t.Errorf("GET %s = %d with %d events, want the 6 of the coming week", loc, got.Code, strings.Count(got.Body.String(), "BEGIN:VEVENT"))
		}
	})
}
