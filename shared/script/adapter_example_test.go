package script_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/elmcity/elmcity/shared/script"
)

// TestExampleAdapter runs the repository's worked example,
// scripts/adapters/example.js, against a fake venue API on loopback: two
// pages, the first given as elmcity.source, the second fetched.
func TestExampleAdapter(t *testing.T) {
	t.Parallel()
	pages := map[string]string{
		"": `{"events": [
  {"id": 17, "name": "Open mic", "date": "2026-12-03", "doors": "19:00", "ends": "22:00", "room": "Hall B",
   "tags": ["music", "open stage"], "page": "/e/17", "blurb": "Bring a song."},
  {"id": 18, "name": "Craft fair", "date": "2026-12-05", "doors": "", "tags": ["crafts"]}],
 "next": "/api/events?page=2"}`,
		"2": `{"events": [
  {"id": 19, "name": "Quiz night", "date": "2026-12-09", "doors": "20:00", "cancelled": true}], "next": null}`,
	}
	var mu sync.Mutex
	var fetched []string
	venue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched = append(fetched, r.URL.RequestURI())
		mu.Unlock()
		body, ok := pages[r.URL.Query().Get("page")]
		if r.URL.Path != "/api/events" || !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, body)
	}))
	t.Cleanup(venue.Close)
	b := setup(t, nil, script.Config{Source: repoScripts})
	feedURL := venue.URL + "/api/events"
	tests := []struct {
		name   string
		source *script.FetchResponse
		want   []string // requests to the venue
	}{
		{name: "WithSource", source: &script.FetchResponse{URL: feedURL, Status: 200, Body: pages[""]}, want: []string{"/api/events?page=2"}},
		{name: "WithoutSource", want: []string{"/api/events", "/api/events?page=2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the subtests share the venue's request log.
			mu.Lock()
			fetched = nil
			mu.Unlock()
			res, err := b.engine.RunAdapter(context.Background(), script.AdapterRequest{
				Adapter: "example", Hub: "keene", FeedURL: feedURL, Fetcher: newTestFetcher(t, true), Source: tt.source,
			})
			if err != nil {
				t.Fatalf("RunAdapter() error = %v", err)
			}
			mu.Lock()
			got := strings.Join(fetched, " ")
			mu.Unlock()
			if got != strings.Join(tt.want, " ") {
				t.Errorf("venue requests = %q, want %q", got, tt.want)
			}
			if res.Report.Items != 3 || res.Report.Events != 3 || res.Report.Skipped != 0 {
				t.Errorf("report = %+v, want 3 events", res.Report)
			}
			cal := parseICS(t, res.ICS)
			byTitle := map[string]string{}
			for _, e := range cal.Events {
				byTitle[e.Summary] = fmt.Sprintf("%s %v allday=%v %s %s %v", e.UID, e.Start.Format("2006-01-02 15:04 MST"), e.AllDay, e.Location, e.Status, e.Categories)
			}
			host := strings.TrimPrefix(venue.URL, "http://")
			want := map[string]string{
				"Open mic":   "venue-17@" + host + " 2026-12-03 19:00 EST allday=false Hall B, The Venue  [music open stage]",
				"Craft fair": "venue-18@" + host + " 2026-12-05 00:00 UTC allday=true The Venue  [crafts]",
				"Quiz night": "venue-19@" + host + " 2026-12-09 20:00 EST allday=false The Venue CANCELLED []",
			}
			for title, w := range want {
				if byTitle[title] != w {
					t.Errorf("event %q = %q, want %q", title, byTitle[title], w)
				}
			}
			if !strings.Contains(string(res.ICS), "URL:"+venue.URL+"/e/17") || !strings.Contains(string(res.ICS), "DESCRIPTION:Bring a song.") {
				t.Errorf("ICS lacks the open mic's URL or description:\n%s", res.ICS)
			}
		})
	}
}
