package aggregate_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// statusOf lists each event as "Dec 3 Title" with " (cancelled)" when it
// is, in calendar order.
func statusOf(evs []hubcal.Event) []string {
	loc, _ := time.LoadLocation("America/New_York")
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Start.In(loc).Format("Jan 2") + " " + e.Title
		if e.Cancelled {
			out[i] += " (cancelled)"
		}
	}
	return out
}

// setBody replaces the feed's body (and so its ETag).
func (f *feedServer) setBody(b string) { f.mu.Lock(); f.body = []byte(b); f.mu.Unlock() }

// TestAggregatePublishesCancelled checks that cancelled occurrences (an
// instance of a series, a single event, later a whole series) are
// published marked cancelled, parsed or carried; that a feed's
// Occurrences count only those that take place, with Cancelled beside
// them; that a feed that cancels its events is not flagged, while one
// whose events vanish is; and that the hub's event count includes the
// cancelled ones.
func TestAggregatePublishesCancelled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	parks := newFeedServer(t, "testdata/cancelled.ics")
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "parks", Title: "Parks", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	f, err := b.store.CreateFeed(ctx, "parks", hub.Feed{FeedURL: parks.srv.URL + "/parks.ics", Source: "Parks", Approved: true})
	if err != nil {
		t.Fatal(err)
	}
	original := string(parks.body)
	wholeSeries := strings.Replace(original, "SUMMARY:Skating Night\nSTATUS:CONFIRMED", "SUMMARY:Skating Night\nSTATUS:CANCELLED", 1)
	if wholeSeries == original {
		t.Fatal("the fixture's series master is not where the test expects it")
	}
	walkOnly := original[:strings.Index(original, "BEGIN:VEVENT")] + original[strings.Index(original, "BEGIN:VEVENT\nUID:walk"):]

	steps := []struct {
		name       string
		body       string // the feed's body from this run on; "" keeps it
		wantStatus string
		want       []string
		// The feed's stats: occurrences that take place, cancelled, and
		// the run before's.
		wantOcc, wantCancelled, wantPrev, wantPrevCancelled int
		wantFlag                                            string
	}{
		{
			name: "Parsed", wantStatus: "ok",
			want: []string{"Dec 3 Skating Night", "Dec 6 Winter Fair (cancelled)", "Dec 10 Skating Night (cancelled)",
				"Dec 12 Bird Walk", "Dec 17 Skating Night", "Dec 24 Skating Night"},
			wantOcc: 4, wantCancelled: 2,
		},
		{
			name: "Carried", wantStatus: "not_modified",
			want: []string{"Dec 3 Skating Night", "Dec 6 Winter Fair (cancelled)", "Dec 10 Skating Night (cancelled)",
				"Dec 12 Bird Walk", "Dec 17 Skating Night", "Dec 24 Skating Night"},
			wantOcc: 4, wantCancelled: 2, wantPrev: 4, wantPrevCancelled: 2,
		},
		{
			// Active occurrences fall from 4 to 1, but the feed lists as
			// many as before: no flag.
			name: "SeriesCancelled", body: wholeSeries, wantStatus: "ok",
			want: []string{"Dec 3 Skating Night (cancelled)", "Dec 6 Winter Fair (cancelled)", "Dec 10 Skating Night (cancelled)",
				"Dec 12 Bird Walk", "Dec 17 Skating Night (cancelled)", "Dec 24 Skating Night (cancelled)"},
			wantOcc: 1, wantCancelled: 5, wantPrev: 4, wantPrevCancelled: 2,
		},
		{
			name: "EventsVanish", body: walkOnly, wantStatus: "ok",
			want:    []string{"Dec 12 Bird Walk"},
			wantOcc: 1, wantPrev: 1, wantPrevCancelled: 5, wantFlag: "dropped by more than half",
		},
	}
	for _, s := range steps {
		if s.body != "" {
			parks.setBody(s.body)
		}
		if err := b.job.Handle(ctx, queue.Job{Hub: "parks"}); err != nil {
			t.Fatalf("%s: Handle() = %v", s.name, err)
		}
		h, evs := b.load(t, "parks")
		if diff := cmp.Diff(s.want, statusOf(evs)); diff != "" {
			t.Errorf("%s: published (-want +got):\n%s", s.name, diff)
		}
		cancelled := strings.Count(strings.Join(s.want, "\n"), "(cancelled)")
		if h.Events != len(s.want) || h.Cancelled != cancelled {
			t.Errorf("%s: header events %d, cancelled %d; want %d and %d (every published event counts)", s.name, h.Events, h.Cancelled, len(s.want), cancelled)
		}
		if p, err := b.pub.Current(ctx, "parks"); err != nil || p.Meta["events"] != strconv.Itoa(len(s.want)) || p.Meta["cancelled"] != strconv.Itoa(cancelled) {
			t.Errorf("%s: generation metadata %v (%v), want events %d and cancelled %d", s.name, p.Meta, err, len(s.want), cancelled)
		}
		st := feedStat(h, f.ID)
		got := aggregate.FeedStats{Status: st.Status, Occurrences: st.Occurrences, Cancelled: st.Cancelled, Previous: st.Previous, PreviousCancelled: st.PreviousCancelled, Flag: st.Flag}
		want := aggregate.FeedStats{Status: s.wantStatus, Occurrences: s.wantOcc, Cancelled: s.wantCancelled, Previous: s.wantPrev, PreviousCancelled: s.wantPrevCancelled, Flag: s.wantFlag}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: feed stats (-want +got):\n%s", s.name, diff)
		}
	}
}

// TestPublishCapCountsCancelled: the cap on a hub's events
// (Config.MaxHubEvents) counts every published event, cancelled or not.
func TestPublishCapCountsCancelled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	parks := newFeedServer(t, "testdata/cancelled.ics")
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "capped", Title: "Capped", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateFeed(ctx, "capped", hub.Feed{FeedURL: parks.srv.URL + "/parks.ics", Source: "Parks", Approved: true}); err != nil {
		t.Fatal(err)
	}
	job := newJob(t, b, nil, aggregate.Config{MaxHubEvents: 3})
	if err := job.Handle(ctx, queue.Job{Hub: "capped"}); err != nil {
		t.Fatal(err)
	}
	h, evs := b.load(t, "capped")
	want := []string{"Dec 3 Skating Night", "Dec 6 Winter Fair (cancelled)", "Dec 10 Skating Night (cancelled)"}
	if diff := cmp.Diff(want, statusOf(evs)); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	if h.Events != 3 || h.Cancelled != 2 || h.Cut != 3 {
		t.Errorf("header events %d, cancelled %d, cut %d; want 3, 2 and 3", h.Events, h.Cancelled, h.Cut)
	}
}

// TestRegionKeepsCancelled: a region publishes its members' cancelled
// events as they published them, and counts them apart in each member's
// stats.
func TestRegionKeepsCancelled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	parks := newFeedServer(t, "testdata/cancelled.ics")
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "parks", Title: "Parks", TZ: "America/New_York", HorizonDays: 60}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateFeed(ctx, "parks", hub.Feed{FeedURL: parks.srv.URL + "/parks.ics", Source: "Parks", Approved: true}); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "parks"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "region", Title: "Region", Type: hub.TypeRegion, TZ: "America/New_York", HorizonDays: 60,
		Members: []string{"parks"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "region"}); err != nil {
		t.Fatal(err)
	}
	h, evs := b.load(t, "region")
	want := []string{"Dec 3 Skating Night", "Dec 6 Winter Fair (cancelled)", "Dec 10 Skating Night (cancelled)",
		"Dec 12 Bird Walk", "Dec 17 Skating Night", "Dec 24 Skating Night"}
	if diff := cmp.Diff(want, statusOf(evs)); diff != "" {
		t.Errorf("region events (-want +got):\n%s", diff)
	}
	if st := feedStat(h, aggregate.MemberFeed("parks")); st.Occurrences != 4 || st.Cancelled != 2 || h.Events != 6 || h.Cancelled != 2 {
		t.Errorf("member stats %+v, header events %d cancelled %d; want 4 occurrences and 2 cancelled of 6", st, h.Events, h.Cancelled)
	}
}
