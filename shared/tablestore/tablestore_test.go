package tablestore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
)

func newTestStore(t *testing.T) *tablestore.Store {
	t.Helper()
	acct := storagetest.Account(t)
	s, err := tablestore.Open(context.Background(), acct, tablestore.Config{
		HubsTable:  storagetest.Table(t, acct, "hubs"),
		FeedsTable: storagetest.Table(t, acct, "feeds"),
	})
	if err != nil {
		t.Fatalf("Open() = %v", err)
	}
	return s
}

var ignoreETag = cmpopts.IgnoreFields(hub.Hub{}, "ETag")

func TestHubLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)

	created, err := s.CreateHub(ctx, hub.Hub{ID: "keene", Title: "Keene", TZ: "America/New_York", Render: map[string]string{"view": "music"}})
	if err != nil {
		t.Fatalf("CreateHub() = %v", err)
	}
	if created.ETag == "" {
		t.Error("CreateHub() returned no ETag")
	}
	if _, err := s.CreateHub(ctx, hub.Hub{ID: "keene", Title: "Again"}); !errors.Is(err, tablestore.ErrExists) {
		t.Errorf("CreateHub(duplicate) = %v, want ErrExists", err)
	}
	if _, err := s.CreateHub(ctx, hub.Hub{ID: "bad id", Title: "X"}); !errors.Is(err, hub.ErrInvalid) {
		t.Errorf("CreateHub(bad id) = %v, want ErrInvalid", err)
	}

	got, err := s.GetHub(ctx, "keene")
	if err != nil {
		t.Fatalf("GetHub() = %v", err)
	}
	if diff := cmp.Diff(created, got, ignoreETag); diff != "" {
		t.Errorf("GetHub() (-want +got):\n%s", diff)
	}

	got.Title = "Keene, NH"
	updated, err := s.UpdateHub(ctx, got)
	if err != nil {
		t.Fatalf("UpdateHub() = %v", err)
	}
	stale := got // still carries the old ETag
	stale.Title = "Lost update"
	if _, err := s.UpdateHub(ctx, stale); !errors.Is(err, tablestore.ErrChanged) {
		t.Errorf("UpdateHub(stale ETag) = %v, want ErrChanged", err)
	}

	if _, err := s.CreateHub(ctx, hub.Hub{ID: "alpha", Title: "Alpha"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListHubs(ctx)
	if err != nil {
		t.Fatalf("ListHubs() = %v", err)
	}
	if len(list) != 2 || list[0].ID != "alpha" || list[1].Title != updated.Title {
		t.Errorf("ListHubs() = %+v", list)
	}

	if err := s.DeleteHub(ctx, "keene"); err != nil {
		t.Fatalf("DeleteHub() = %v", err)
	}
	if _, err := s.GetHub(ctx, "keene"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("GetHub(deleted) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetHub(ctx, "x' or PartitionKey ne '"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("GetHub(injection) = %v, want ErrNotFound", err)
	}
}

func TestFeedLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := s.CreateHub(ctx, hub.Hub{ID: "keene", Title: "Keene"}); err != nil {
		t.Fatal(err)
	}

	f, err := s.CreateFeed(ctx, "keene", hub.Feed{
		FeedURL: "webcal://library.example.org/events.ics", URL: "https://library.example.org/",
		Source: "Library", Categories: []string{"Books"}, CatMap: map[string]string{"Kids": "family"}, Approved: true,
	})
	if err != nil {
		t.Fatalf("CreateFeed() = %v", err)
	}
	if f.FeedURL != "https://library.example.org/events.ics" || !hub.ValidFeedID(f.ID) {
		t.Errorf("CreateFeed() = %+v, want normalized URL and a derived id", f)
	}
	if _, err := s.CreateFeed(ctx, "keene", hub.Feed{FeedURL: "https://LIBRARY.example.org/events.ics", Source: "Dup"}); !errors.Is(err, tablestore.ErrExists) {
		t.Errorf("CreateFeed(same URL) = %v, want ErrExists", err)
	}
	if _, err := s.CreateFeed(ctx, "nohub", hub.Feed{FeedURL: "https://e.org/c.ics", Source: "S"}); !errors.Is(err, tablestore.ErrNotFound) {
		t.Errorf("CreateFeed(unknown hub) = %v, want ErrNotFound", err)
	}

	got, err := s.GetFeed(ctx, "keene", f.ID)
	if err != nil {
		t.Fatalf("GetFeed() = %v", err)
	}
	if diff := cmp.Diff(f, got, cmpopts.IgnoreFields(hub.Feed{}, "ETag")); diff != "" {
		t.Errorf("GetFeed() (-want +got):\n%s", diff)
	}

	got.Comments = "weekly"
	if _, err := s.UpdateFeed(ctx, "keene", got); err != nil {
		t.Fatalf("UpdateFeed() = %v", err)
	}
	if _, err := s.UpdateFeed(ctx, "keene", got); !errors.Is(err, tablestore.ErrChanged) {
		t.Errorf("UpdateFeed(stale ETag) = %v, want ErrChanged", err)
	}
	moved := got
	moved.ETag = ""
	moved.FeedURL = "https://elsewhere.example.org/x.ics"
	if _, err := s.UpdateFeed(ctx, "keene", moved); !errors.Is(err, hub.ErrInvalid) {
		t.Errorf("UpdateFeed(new URL) = %v, want ErrInvalid", err)
	}

	feeds, err := s.ListFeeds(ctx, "keene")
	if err != nil || len(feeds) != 1 || feeds[0].Comments != "weekly" {
		t.Errorf("ListFeeds() = %+v, %v", feeds, err)
	}
	if err := s.DeleteHub(ctx, "keene"); err != nil {
		t.Fatalf("DeleteHub() = %v", err)
	}
	if feeds, _ := s.ListFeeds(ctx, "keene"); len(feeds) != 0 {
		t.Errorf("ListFeeds(after hub deleted) = %+v, want none", feeds)
	}
}
