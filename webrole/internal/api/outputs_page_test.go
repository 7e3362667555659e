package api_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// busyHub is a real hub's worth of events: n events over the 90 days
// from now's day, from 25 sources (a library, theatres, clubs, a gym
// that lists every class), with a paragraph of description, one to
// three tags, a place and a link each; every seventh merged from two
// feeds.
func busyHub(now time.Time, n int) []hubcal.Event {
	loc, _ := time.LoadLocation("America/New_York")
	day0 := time.Date(now.In(loc).Year(), now.In(loc).Month(), now.In(loc).Day(), 0, 0, 0, 0, loc)
	tags := []string{"music", "kids", "library", "arts", "film", "sports", "outdoors", "talks", "food", "theatre", "fitness", "civic", "books", "dance", "seniors"}
	desc := strings.Repeat("Join us for an afternoon of stories, songs and crafts; all ages welcome, no registration needed. ", 3)
	out := make([]hubcal.Event, 0, n)
	for i := range n {
		src := i % 25
		d := (i * 90) / n
		minute := 8*60 + (i*37)%(14*60) // 8:00 to 22:00
		if src == 0 {                   // the gym: a class every half hour, mornings
			minute = 6*60 + ((i/25)%16)*30
		}
		start := day0.AddDate(0, 0, d).Add(time.Duration(minute) * time.Minute)
		s := hubcal.Source{Feed: fmt.Sprintf("f%02d", src), Name: fmt.Sprintf("Contributor number %d", src), URL: fmt.Sprintf("https://source%d.example.org/events", src)}
		e := hubcal.Event{
			UID: fmt.Sprintf("%08x@elmcity", i), Title: fmt.Sprintf("Community event number %d downtown", i),
			Start: start, End: start.Add(90 * time.Minute), Description: desc,
			Location: fmt.Sprintf("Keene Public Library, %d Winter St, Keene NH", 10+src),
			URL:      fmt.Sprintf("https://source%d.example.org/events/%d", src, i),
			Tags:     []string{tags[i%len(tags)], tags[(i/3)%len(tags)]}, Sources: []hubcal.Source{s},
		}
		if i%41 == 5 { // a few are cancelled
			e.Cancelled = true
		}
		if i%7 == 0 {
			e.Sources = append(e.Sources, hubcal.Source{Feed: "f99", Name: "The Sentinel", URL: "https://sentinel.example.org/calendar"})
			e.Merged = []hubcal.MergeNote{{Feed: "f99", UID: fmt.Sprint(i), Reason: "same start and title"}}
		}
		out = append(out, e)
	}
	// Calendar order: by start, title and UID.
	sortEvents(out)
	return out
}

func sortEvents(evs []hubcal.Event) {
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && less(&evs[j], &evs[j-1]); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
}

func less(a, b *hubcal.Event) bool {
	if !a.Start.Equal(b.Start) {
		return a.Start.Before(b.Start)
	}
	if a.Title != b.Title {
		return a.Title < b.Title
	}
	return a.UID < b.UID
}

// TestHubPageOfABusyHubIsSmall measures the default view of the hub
// page of a 5,000-event hub, as production serves it (a public URL, so
// links are absolute): it must weigh under 150 KB.
func TestHubPageOfABusyHubIsSmall(t *testing.T) {
	t.Parallel()
	const most = 150 << 10
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	h := newInstance(t, w.testBundle, clock, outputs.Config{PublicURL: "https://calendar.example.org"})
	publishEvents(t, w.cals, "keene", busyHub(clock.Now(), 5000))
	rec := do(t, h, http.MethodGet, "/keene", nil)
	gz := do(t, h, http.MethodGet, "/keene", map[string]string{"Accept-Encoding": "gzip"})
	if rec.Code != 200 {
		t.Fatalf("GET /keene = %d", rec.Code)
	}
	body := rec.Body.String()
	shown := strings.Count(body, `class="event`)
	t.Logf("hub page of 5,000 events: %d bytes (%d gzipped), %d events listed", len(body), gz.Body.Len(), shown)
	if dump := os.Getenv("ELMCITY_TEST_DUMP_PAGE"); dump != "" {
		_ = os.WriteFile(dump, []byte(body), 0o644)
	}
	if len(body) > most {
		t.Errorf("the default hub page of a 5,000-event hub is %d bytes, want at most %d", len(body), most)
	}
}
