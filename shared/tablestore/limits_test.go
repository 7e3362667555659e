package tablestore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
)

func TestFeedsPerHubCap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newLimitedStore(t, tablestore.Limits{MaxFeedsPerHub: 3})
	mustHubs(t, s, "seq", "par")
	feed := func(hubID string, i int) hub.Feed {
		return hub.Feed{FeedURL: fmt.Sprintf("https://e.org/%s/%d.ics", hubID, i), Source: "S"}
	}
	for i := range 3 {
		if _, err := s.CreateFeed(ctx, "seq", feed("seq", i)); err != nil {
			t.Fatalf("CreateFeed(%d) = %v", i, err)
		}
	}
	_, err := s.CreateFeed(ctx, "seq", feed("seq", 3))
	var le *tablestore.LimitError
	if !errors.As(err, &le) || le.Max != 3 || !errors.Is(err, tablestore.ErrLimit) {
		t.Fatalf("CreateFeed(fourth) = %v, want a *LimitError of 3", err)
	}
	if feeds, _ := s.ListFeeds(ctx, "seq"); len(feeds) != 3 {
		t.Errorf("hub has %d feeds after a refused add, want 3", len(feeds))
	}

	// Concurrent adds never take a hub past its cap.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, err := s.CreateFeed(ctx, "par", feed("par", i)); err != nil && !errors.Is(err, tablestore.ErrLimit) {
				t.Errorf("CreateFeed(concurrent) = %v, want nil or ErrLimit", err)
			}
		})
	}
	wg.Wait()
	if feeds, err := s.ListFeeds(ctx, "par"); err != nil || len(feeds) > 3 {
		t.Errorf("after 8 concurrent adds the hub has %d feeds (%v), want at most 3", len(feeds), err)
	}
}

func TestListPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)
	mustHubs(t, s, "e", "a", "d", "c", "b")
	for i := range 5 {
		if _, err := s.CreateFeed(ctx, "a", hub.Feed{FeedURL: fmt.Sprintf("https://e.org/%d.ics", i), Source: "S"}); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for after := ""; ; {
		hubs, next, err := s.ListHubsPage(ctx, after, 2)
		if err != nil {
			t.Fatalf("ListHubsPage(%q) = %v", after, err)
		}
		for _, h := range hubs {
			ids = append(ids, h.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if got := strings.Join(ids, ","); got != "a,b,c,d,e" {
		t.Errorf("ListHubsPage pages = %s, want a,b,c,d,e", got)
	}
	feeds, next, err := s.ListFeedsPage(ctx, "a", "", 3)
	if err != nil || len(feeds) != 3 || next != feeds[2].ID {
		t.Fatalf("ListFeedsPage(first 3) = %d, %q, %v", len(feeds), next, err)
	}
	rest, next, err := s.ListFeedsPage(ctx, "a", next, 3)
	if err != nil || len(rest) != 2 || next != "" || rest[0].ID <= feeds[2].ID {
		t.Errorf("ListFeedsPage(rest) = %d, %q, %v, want the last 2 and no next", len(rest), next, err)
	}
	if got, _ := s.GetHubs(ctx, []string{"c", "nosuch", "bad id", "a"}); len(got) != 2 || got[0].ID != "c" || got[1].ID != "a" {
		t.Errorf("GetHubs() = %+v, want c and a", got)
	}
	var ve *hub.ValidationError
	for name, call := range map[string]func() error{
		"Hubs":  func() error { _, _, err := s.ListHubsPage(ctx, "a' or 'x", 2); return err },
		"Feeds": func() error { _, _, err := s.ListFeedsPage(ctx, "a", "zz", 2); return err },
	} {
		if err := call(); !errors.As(err, &ve) || ve.Fields["after"] == "" {
			t.Errorf("List%sPage(bad after) = %v, want a validation error naming after", name, err)
		}
	}
}

// TestStoreRefusesWhatStorageWould checks that input the service would
// refuse is a validation error or ErrChanged before it gets there.
func TestStoreRefusesWhatStorageWould(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)
	mustHubs(t, s, "keene")
	// Allowed per mapping, too large as a whole.
	catmap := map[string]string{}
	for i := range 500 {
		catmap[fmt.Sprintf("%03d-%s", i, strings.Repeat("k", 90))] = strings.Repeat("v", 90)
	}
	var ve *hub.ValidationError
	if _, err := s.CreateFeed(ctx, "keene", hub.Feed{FeedURL: "https://e.org/c.ics", Source: "S", CatMap: catmap}); !errors.As(err, &ve) || ve.Fields["catmap"] == "" {
		t.Errorf("CreateFeed(a 100 KB catmap) = %v, want a validation error naming catmap", err)
	}
	h, err := s.GetHub(ctx, "keene")
	if err != nil {
		t.Fatal(err)
	}
	for _, etag := range []string{"garbage", `"x"`, `W/"x"`, strings.Replace(h.ETag, "W/", "", 1), h.ETag + "x"} {
		stale := h
		stale.ETag = etag
		if _, err := s.UpdateHub(ctx, stale); !errors.Is(err, tablestore.ErrChanged) {
			t.Errorf("UpdateHub(ETag %q) = %v, want ErrChanged", etag, err)
		}
	}
	h.ETag = "*"
	if _, err := s.UpdateHub(ctx, h); err != nil {
		t.Errorf("UpdateHub(ETag *) = %v", err)
	}
}

func TestCheckMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newLimitedStore(t, tablestore.Limits{MaxRegionMembers: 2})
	mustHubs(t, s, "keene", "swanzey", "troy")
	tests := []struct {
		name      string
		hub       hub.Hub
		wantField string // in the members error; "" when valid
	}{
		{name: "Existing", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: []string{"keene", "swanzey"}}},
		{name: "RepeatsCountOnce", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: []string{"keene", "keene", " swanzey"}}},
		{name: "NotARegion", hub: hub.Hub{ID: "w", Title: "W"}},
		{name: "Unknown", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: []string{"keene", "nosuch"}}, wantField: `no hub "nosuch"`},
		{name: "OverTheCap", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: []string{"keene", "swanzey", "troy"}}, wantField: "at most 2"},
		{name: "Itself", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: []string{"keene", "r"}}, wantField: "itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := s.CheckMembers(ctx, tt.hub)
			var ve *hub.ValidationError
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("CheckMembers(%v) = %v", tt.hub.Members, err)
			case tt.wantField != "" && (!errors.As(err, &ve) || !strings.Contains(ve.Fields["members"], tt.wantField)):
				t.Errorf("CheckMembers(%v) = %v, want members: ...%s...", tt.hub.Members, err, tt.wantField)
			}
		})
	}
	// The writes validate the cap but leave existence to the caller: a
	// region can outlive a member.
	var ve *hub.ValidationError
	if _, err := s.CreateHub(ctx, hub.Hub{ID: "big", Title: "B", Type: "region", Members: []string{"keene", "swanzey", "troy"}}); !errors.As(err, &ve) {
		t.Errorf("CreateHub(over the cap) = %v, want a validation error", err)
	}
	if _, err := s.CreateHub(ctx, hub.Hub{ID: "old", Title: "O", Type: "region", Members: []string{"keene", "gone"}}); err != nil {
		t.Errorf("CreateHub(a member since deleted) = %v", err)
	}
}

// TestCreateHubKeepsAnExistingHubsCurators checks that creating a hub
// that exists fails before it touches the grants of the existing one.
func TestCreateHubKeepsAnExistingHubsCurators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newTestStore(t)
	mustHubs(t, s, "keene")
	_, token, err := s.CreateCurator(ctx, "Ann", []string{"keene"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateHub(ctx, hub.Hub{ID: "keene", Title: "Again"}); !errors.Is(err, tablestore.ErrExists) {
		t.Fatalf("CreateHub(existing) = %v, want ErrExists", err)
	}
	if c, err := s.Authenticate(ctx, token); err != nil || !c.Can("keene") {
		t.Errorf("Authenticate() after a failed CreateHub = %+v, %v, want the grant kept", c, err)
	}
}
