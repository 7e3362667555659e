package aggregate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// TestAggregateRegion checks that a region merges its members' published
// calendars: an event two members publish becomes one with both sources,
// the others keep their members' UIDs, a member that does not exist or
// never published is reported and does not stop the run, and the
// scheduler's job runs again once a member has published since.
func TestAggregateRegion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	lib := newFeedServer(t, "testdata/library.ics")
	thr := newFeedServer(t, "testdata/theatre.ics")
	for _, m := range []struct {
		id, title, url string
	}{{"keene", "Keene", lib.srv.URL + "/lib.ics"}, {"swanzey", "Swanzey", thr.srv.URL + "/thr.ics"}, {"quiet", "Quiet", ""}} {
		if _, err := b.store.CreateHub(ctx, hub.Hub{ID: m.id, Title: m.title, TZ: "America/New_York", HorizonDays: 60}); err != nil {
			t.Fatal(err)
		}
		if m.url == "" {
			continue // never aggregated
		}
		if _, err := b.store.CreateFeed(ctx, m.id, hub.Feed{FeedURL: m.url, Source: m.title + " feed", Approved: true}); err != nil {
			t.Fatal(err)
		}
		if err := b.job.Handle(ctx, queue.Job{Hub: m.id}); err != nil {
			t.Fatal(err)
		}
	}
	region := hub.Hub{ID: "monadnock", Title: "Monadnock", Type: hub.TypeRegion, TZ: "America/New_York", HorizonDays: 60,
		Members: []string{"keene", "swanzey", "ghost", "quiet"}}
	if _, err := b.store.CreateHub(ctx, region); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "monadnock"}); err != nil {
		t.Fatalf("Handle(region) = %v", err)
	}
	h, evs := b.load(t, "monadnock")
	if got := titles(evs); got["Story Time"] != 4 || got["The Nutcracker"] != 1 || len(evs) != 6 {
		t.Errorf("region events = %v (%d), want the members' 4 story times, the nutcracker and one jazz night", got, len(evs))
	}
	_, keene := b.load(t, "keene")
	memberUIDs := map[string]bool{}
	for _, e := range keene {
		memberUIDs[e.UID] = true
	}
	var jazz []hubcal.Event
	for _, e := range evs {
		if len(e.Sources) > 1 {
			jazz = append(jazz, e)
			continue
		}
		if e.Title == "Story Time" && !memberUIDs[e.UID] {
			t.Errorf("region story time UID %s is not its member's", e.UID)
		}
	}
	if len(jazz) != 1 || len(jazz[0].Sources) != 2 {
		t.Errorf("merged events = %+v, want one jazz night with both members' sources", jazz)
	}
	if h.FeedsOK != 2 || h.FeedsBad != 2 {
		t.Errorf("region header = %+v, want 2 members ok and 2 failed", h)
	}
	for id, want := range map[string]aggregate.FeedStats{
		"keene":   {Status: "ok", Source: "Keene", Occurrences: 5},
		"swanzey": {Status: "ok", Source: "Swanzey", Occurrences: 2},
		"ghost":   {Status: "failed", ErrorClass: "no_hub"},
		"quiet":   {Status: "failed", ErrorClass: "not_published", Source: "Quiet"},
	} {
		st := feedStat(h, aggregate.MemberFeed(id))
		if st.Status != want.Status || st.ErrorClass != want.ErrorClass || st.Occurrences != want.Occurrences ||
			want.Source != "" && st.Source != want.Source {
			t.Errorf("member %s stats = %+v, want %+v", id, st, want)
		}
	}

	// The scheduler's job for the fresh region is a no-op until a member
	// publishes again.
	first, err := b.pub.Current(ctx, "monadnock")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "monadnock", RequestedBy: aggregate.ScheduledBy}); err != nil {
		t.Fatal(err)
	}
	if again, _ := b.pub.Current(ctx, "monadnock"); again.ID != first.ID {
		t.Error("a scheduled job for a fresh region published again")
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "keene"}); err != nil {
		t.Fatal(err)
	}
	if err := b.job.Handle(ctx, queue.Job{Hub: "monadnock", RequestedBy: aggregate.ScheduledBy}); err != nil {
		t.Fatal(err)
	}
	if again, _ := b.pub.Current(ctx, "monadnock"); again.ID == first.ID {
		t.Error("the region was not aggregated again after a member published")
	}
}

// TestRegionMembers checks the guard on stored member lists: each member
// once, in order, never the region itself, at most the limit.
func TestRegionMembers(t *testing.T) {
	t.Parallel()
	h := hub.Hub{ID: "big", Type: hub.TypeRegion, Members: []string{"keene", "keene", "big", "swanzey", "keene", "troy", "keene"}}
	tests := []struct {
		name        string
		limit       int
		want        []string
		wantDropped int
	}{
		{"NoLimit", 0, []string{"keene", "swanzey", "troy"}, 0},
		{"Limit", 2, []string{"keene", "swanzey"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, dropped := aggregate.RegionMembers(h, tt.limit)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") || dropped != tt.wantDropped {
				t.Errorf("RegionMembers() = %v, %d, want %v, %d", got, dropped, tt.want, tt.wantDropped)
			}
		})
	}
}

// TestRegionMembersBounded checks that a region merges at most
// MaxRegionMembers members, and at most MaxHubEvents events of each.
func TestRegionMembersBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t)
	lib := newFeedServer(t, "testdata/library.ics")
	thr := newFeedServer(t, "testdata/theatre.ics")
	for id, url := range map[string]string{"keene": lib.srv.URL + "/lib.ics", "swanzey": thr.srv.URL + "/thr.ics"} {
		if _, err := b.store.CreateHub(ctx, hub.Hub{ID: id, Title: id, TZ: "America/New_York", HorizonDays: 60}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.store.CreateFeed(ctx, id, hub.Feed{FeedURL: url, Source: id, Approved: true}); err != nil {
			t.Fatal(err)
		}
		if err := b.job.Handle(ctx, queue.Job{Hub: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "big", Title: "Big", Type: hub.TypeRegion, TZ: "America/New_York",
		HorizonDays: 60, Members: []string{"keene", "swanzey"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		cfg         aggregate.Config
		wantMembers []string
		wantEvents  int
	}{
		{"All", aggregate.Config{}, []string{"keene", "swanzey"}, 6},
		{"FirstMembersOnly", aggregate.Config{MaxRegionMembers: 1}, []string{"keene"}, 5},
		{"EarliestEventsOfEach", aggregate.Config{MaxHubEvents: 2}, []string{"keene", "swanzey"}, 2},
	}
	for _, tt := range tests {
		job := newJob(t, b, nil, tt.cfg)
		if err := job.Handle(ctx, queue.Job{Hub: "big"}); err != nil {
			t.Fatalf("%s: Handle() = %v", tt.name, err)
		}
		h, evs := b.load(t, "big")
		var got []string
		for _, f := range h.Feeds {
			got = append(got, strings.TrimPrefix(f.Feed, "hub:"))
		}
		if strings.Join(got, ",") != strings.Join(tt.wantMembers, ",") || len(evs) != tt.wantEvents {
			t.Errorf("%s: merged members %v with %d events, want %v with %d", tt.name, got, len(evs), tt.wantMembers, tt.wantEvents)
		}
	}
}
