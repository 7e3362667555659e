package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// homeWorld is a world with 56 hubs: keene and other, a topic, a region
// and 52 towns, keene published with 3 events.
func homeWorld(t *testing.T) world {
	t.Helper()
	w := newWorld(t)
	put := func(id, body string) {
		if code, resp, _ := call(t, w.h, "PUT", "/api/hubs/"+id, adminToken, body); code != 201 {
			t.Fatalf("PUT hub %s = %d %v", id, code, resp)
		}
	}
	put("jazz", `{"title":"Jazz in New England <b>","type":"what","tz":"America/New_York"}`)
	put("monadnock", `{"title":"Monadnock Region","type":"region","members":["keene","other"],"tz":"America/New_York"}`)
	for i := range 52 {
		put(fmt.Sprintf("h%02d", i), fmt.Sprintf(`{"title":"Town %02d","tz":"America/New_York"}`, i))
	}
	events := upcoming(time.Now(), "A", "B", "C", "D")
	events[3].Cancelled = true
	payload, err := hubcal.FromEvents(events).Encode(map[string]any{"v": 1, "hub": "keene", "events": 4, "cancelled": 1})
	if err != nil {
		t.Fatal(err)
	}
	// Four events published, one of them cancelled: three take place.
	if _, err := w.cals.Publish(context.Background(), publish.Generation{Hub: "keene", Payload: payload, Meta: map[string]string{"events": "4", "cancelled": "1"}}); err != nil {
		t.Fatal(err)
	}
	return w
}

// homeLinks are the hubs a home page lists, by href.
func homeLinks(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<li><a href="(/[^"]+)">`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestHomePage(t *testing.T) {
	t.Parallel()
	w := homeWorld(t)
	first := do(t, w.h, http.MethodGet, "/", nil)
	if first.Code != 200 || !strings.HasPrefix(first.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", first.Code, first.Header().Get("Content-Type"))
	}
	if got, want := first.Header().Get("Content-Security-Policy"), render.PagePolicy(hub.Look{}); got != want {
		t.Errorf("GET / Content-Security-Policy = %q, want %q", got, want)
	}
	links := homeLinks(first.Body.String())
	if len(links) != 50 || links[0] != "/h00" || links[49] != "/h49" {
		t.Fatalf("the first page lists %d hubs (%q ... ), want h00 to h49", len(links), links)
	}
	next := regexp.MustCompile(`<a href="([^"]+)" rel="next">More calendars</a>`).FindStringSubmatch(first.Body.String())
	if next == nil || next[1] != "/?after=h49" {
		t.Fatalf("the first page's next link = %q, want /?after=h49", next)
	}
	second := do(t, w.h, http.MethodGet, next[1], nil).Body.String()
	if got := homeLinks(second); strings.Join(got, " ") != "/h50 /h51 /jazz /keene /monadnock /other" {
		t.Errorf("the second page lists %q", got)
	}
	if strings.Contains(second, `rel="next"`) {
		t.Errorf("the last page links to a next one")
	}
	for _, want := range []string{
		`<a href="/keene">keene</a> <span class="muted">a place · 3 upcoming events, updated <time`,
		`<a href="/other">other</a> <span class="muted">a place · no calendar yet</span>`,
		`<a href="/jazz">Jazz in New England &lt;b&gt;</a> <span class="muted">a topic · no calendar yet`,
		`<a href="/monadnock">Monadnock Region</a> <span class="muted">a region`,
	} {
		if !strings.Contains(second, want) {
			t.Errorf("the second page lacks %q:\n%s", want, second)
		}
	}
	tests := []struct {
		name, path string
		code       int
		want       string // the hubs listed, or the field a 400 names
	}{
		{"SearchTitle", "/?q=NEW+england", 200, "/jazz"},
		{"SearchID", "/?q=kee", 200, "/keene"},
		{"SearchMany", "/?q=town+0", 200, "/h00 /h01 /h02 /h03 /h04 /h05 /h06 /h07 /h08 /h09"},
		{"SearchPaged", "/?q=town&after=h45", 200, "/h46 /h47 /h48 /h49 /h50 /h51"},
		{"SearchNothing", "/?q=zzz", 200, ""},
		{"LongSearch", "/?q=" + strings.Repeat("x", 101), 400, "q"},
		{"BadAfter", "/?after=a%20b", 400, "after"},
	}
	for _, tt := range tests {
		rec := do(t, w.h, http.MethodGet, tt.path, nil)
		if rec.Code != tt.code {
			t.Errorf("%s: GET %s = %d, want %d", tt.name, tt.path, rec.Code, tt.code)
			continue
		}
		if tt.code == 400 {
			if !strings.Contains(rec.Body.String(), `"`+tt.want+`"`) {
				t.Errorf("%s: GET %s = %s, want the error to name %s", tt.name, tt.path, rec.Body, tt.want)
			}
			continue
		}
		if got := strings.Join(homeLinks(rec.Body.String()), " "); got != tt.want {
			t.Errorf("%s: GET %s lists %q, want %q", tt.name, tt.path, got, tt.want)
		}
	}
	if body := do(t, w.h, http.MethodGet, "/?q=zzz", nil).Body.String(); !strings.Contains(body, "No calendar's title matches “zzz”") {
		t.Errorf("an empty search says nothing:\n%s", body)
	}
	// Made once a minute: a second request is the same page.
	again := do(t, w.h, http.MethodGet, "/", nil)
	if again.Header().Get("ETag") != first.Header().Get("ETag") || again.Header().Get("Cache-Control") != "public, max-age=60" {
		t.Errorf("GET / again = ETag %q Cache-Control %q", again.Header().Get("ETag"), again.Header().Get("Cache-Control"))
	}
	if rec := do(t, w.h, http.MethodGet, "/", map[string]string{"If-None-Match": first.Header().Get("ETag")}); rec.Code != 304 {
		t.Errorf("GET / If-None-Match = %d, want 304", rec.Code)
	}
}
