package tablestore_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/hub"
)

// TestFeedKindRoundTrip checks that a feed's kind, mapping, adapter and
// hosts are stored and read back as they were (GetFeed, ListFeeds and
// ListFeedsPage), and that an update that makes a feed iCalendar again
// clears them.
func TestFeedKindRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := s.CreateHub(ctx, hub.Hub{ID: "keene", Title: "Keene"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		feed hub.Feed
	}{
		{name: "ICS", feed: hub.Feed{FeedURL: "https://e.org/c.ics", Source: "Plain"}},
		{name: "CSV", feed: hub.Feed{FeedURL: "https://e.org/c.csv", Source: "Club", Kind: "csv", Mapping: &feedkind.Mapping{
			Title: "Event", StartDate: "Date", StartTime: "Time", EndDate: "End date", EndTime: "End time", AllDay: "All day",
			Location: "Venue", URL: "Link", Description: "About", Categories: "Tags", UID: "Id", Status: "State",
			DateFormat: "M/D/YYYY", TZ: "America/Chicago", Header: true, Delimiter: ";",
		}}},
		{name: "JSON", feed: hub.Feed{FeedURL: "https://e.org/api", Source: "API", Kind: "json", Mapping: &feedkind.Mapping{
			Title: "name", StartDate: "when", Duration: "length", Location: "venue.name", Path: "data.events",
		}}},
		{name: "JSONLD", feed: hub.Feed{FeedURL: "https://e.org/whats-on", Source: "Theatre", Kind: "jsonld", Mapping: &feedkind.Mapping{TZ: "Europe/London"}}},
		{name: "RSS", feed: hub.Feed{FeedURL: "https://e.org/feed.rss", Source: "News", Kind: "rss"}},
		{name: "Script", feed: hub.Feed{FeedURL: "https://e.org/listing", Source: "Venue", Kind: "script", Adapter: "venue",
			Hosts: []string{"api.e.org", "cdn.e.org"}}},
	}
	ids := map[string]hub.Feed{}
	for _, tt := range tests {
		f, err := s.CreateFeed(ctx, "keene", tt.feed)
		if err != nil {
			t.Fatalf("CreateFeed(%s) = %v", tt.name, err)
		}
		ids[f.ID] = f
		got, err := s.GetFeed(ctx, "keene", f.ID)
		if err != nil {
			t.Fatalf("GetFeed(%s) = %v", tt.name, err)
		}
		want := tt.feed
		want.ID = f.ID
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(hub.Feed{}, "ETag"), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("GetFeed(%s) (-want +got):\n%s", tt.name, diff)
		}
	}
	all, err := s.ListFeeds(ctx, "keene")
	if err != nil {
		t.Fatal(err)
	}
	page, _, err := s.ListFeedsPage(ctx, "keene", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, list := range [][]hub.Feed{all, page} {
		if len(list) != len(tests) {
			t.Fatalf("listed %d feeds, want %d", len(list), len(tests))
		}
		for _, got := range list {
			if diff := cmp.Diff(ids[got.ID], got, cmpopts.IgnoreFields(hub.Feed{}, "ETag"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("listed feed %s (-want +got):\n%s", got.Source, diff)
			}
		}
	}

	// Back to iCalendar: the mapping, adapter and hosts go.
	for id, f := range ids {
		if f.Kind != "script" {
			continue
		}
		cur, err := s.GetFeed(ctx, "keene", id)
		if err != nil {
			t.Fatal(err)
		}
		cur.Kind, cur.Adapter, cur.Hosts = "", "", nil
		if _, err := s.UpdateFeed(ctx, "keene", cur); err != nil {
			t.Fatalf("UpdateFeed(to ics) = %v", err)
		}
		got, err := s.GetFeed(ctx, "keene", id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != "" || got.Adapter != "" || got.Hosts != nil || got.Mapping != nil {
			t.Errorf("after UpdateFeed(to ics) = %+v, want no kind, adapter, hosts or mapping", got)
		}
	}
}
