package hub_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/hub"
)

func TestHubValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		hub        hub.Hub
		wantFields []string
	}{
		{name: "MinimalIsValid", hub: hub.Hub{ID: "keene", Title: "Keene"}},
		{name: "Everything", hub: hub.Hub{ID: "a_b-1", Title: "T", Type: "what", TZ: "Europe/Berlin", HorizonDays: 30, IntervalHours: 2}},
		{name: "BadID", hub: hub.Hub{ID: "x' or 1 eq 1", Title: "T"}, wantFields: []string{"id"}},
		{name: "ReservedID", hub: hub.Hub{ID: "Services", Title: "T"}, wantFields: []string{"id"}},
		{name: "BadEverything", hub: hub.Hub{ID: "", Title: "", Type: "galaxy", TZ: "Mars/Olympus", HorizonDays: -1, IntervalHours: 9999},
			wantFields: []string{"horizon_days", "id", "interval_hours", "title", "type", "tz"}},
		{name: "RegionNeedsMembers", hub: hub.Hub{ID: "r", Title: "R", Type: "region"}, wantFields: []string{"members"}},
		{name: "RegionWithMembers", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: []string{"a", "b"}}},
		{name: "MembersOnlyOnRegion", hub: hub.Hub{ID: "w", Title: "W", Members: []string{"a"}}, wantFields: []string{"members"}},
		{name: "RegionListsItself", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: []string{"a", "r"}}, wantFields: []string{"members"}},
		{name: "RegionRepeatsCountOnce", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: repeat("keene", 8*hub.DefaultMaxRegionMembers)}},
		{name: "RegionOverCap", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: ids(hub.DefaultMaxRegionMembers + 1)}, wantFields: []string{"members"}},
		{name: "RegionAtCap", hub: hub.Hub{ID: "r", Title: "R", Type: "region", Members: ids(hub.DefaultMaxRegionMembers)}},
		{name: "LongVocabulary", hub: hub.Hub{ID: "v", Title: "V", Vocabulary: ids(hub.MaxVocabulary + 1)}, wantFields: []string{"vocabulary"}},
		{name: "LongTag", hub: hub.Hub{ID: "v", Title: "V", Vocabulary: []string{strings.Repeat("t", hub.MaxTagBytes+1)}}, wantFields: []string{"vocabulary"}},
		{name: "LongRenderValue", hub: hub.Hub{ID: "v", Title: "V", Render: map[string]string{"view": strings.Repeat("x", hub.MaxRenderValueBytes+1)}}, wantFields: []string{"render"}},
		{name: "EmptyRenderKey", hub: hub.Hub{ID: "v", Title: "V", Render: map[string]string{"": "x"}}, wantFields: []string{"render"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.hub
			h.Normalize()
			err := h.Validate()
			var got []string
			var ve *hub.ValidationError
			if errors.As(err, &ve) {
				for k := range ve.Fields {
					got = append(got, k)
				}
				if !errors.Is(err, hub.ErrInvalid) {
					t.Errorf("errors.Is(err, ErrInvalid) = false")
				}
			} else if err != nil {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			if diff := cmp.Diff(tt.wantFields, got, cmpSorted); diff != "" {
				t.Errorf("Validate() fields (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("h", i)
	}
	return out
}

func TestRegionMembersNormalized(t *testing.T) {
	t.Parallel()
	h := hub.Hub{ID: "r", Title: "R", Type: "region", Members: []string{"keene", " swanzey", "keene", "swanzey "}}
	h.Normalize()
	if diff := cmp.Diff([]string{"keene", "swanzey"}, h.Members); diff != "" {
		t.Errorf("Normalize() members (-want +got):\n%s", diff)
	}
	if err := h.ValidateWith(hub.Limits{MaxRegionMembers: 1}); err == nil || !strings.Contains(err.Error(), "at most 1 member") {
		t.Errorf("ValidateWith(MaxRegionMembers 1) = %v, want members over the cap", err)
	}
}

func TestHubDefaults(t *testing.T) {
	t.Parallel()
	h := hub.Hub{ID: "k", Title: "K"}
	h.Normalize()
	if h.Type != hub.TypeWhere || h.TZ != "UTC" || h.HorizonDays != 90 || h.IntervalHours != 8 {
		t.Errorf("Normalize() = %+v, want defaults where/UTC/90/8", h)
	}
}

func TestFeedNormalizeAndValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		feed       hub.Feed
		wantURL    string
		wantFields []string
	}{
		{name: "Webcal", feed: hub.Feed{FeedURL: " webcal://Example.ORG/cal.ics ", Source: "Library"}, wantURL: "https://example.org/cal.ics"},
		{name: "DefaultPort", feed: hub.Feed{FeedURL: "https://example.org:443/a?b=c#frag", Source: "S"}, wantURL: "https://example.org/a?b=c"},
		{name: "FTP", feed: hub.Feed{FeedURL: "ftp://example.org/cal.ics", Source: "S"}, wantURL: "ftp://example.org/cal.ics", wantFields: []string{"feedurl"}},
		{name: "Relative", feed: hub.Feed{FeedURL: "/cal.ics", Source: "S"}, wantURL: "/cal.ics", wantFields: []string{"feedurl"}},
		{name: "Credentials", feed: hub.Feed{FeedURL: "https://u:p@example.org/c.ics", Source: "S"}, wantURL: "https://u:p@example.org/c.ics", wantFields: []string{"feedurl"}},
		{name: "MissingSourceAndBadHome", feed: hub.Feed{FeedURL: "https://example.org/c.ics", URL: "javascript:alert(1)"}, wantURL: "https://example.org/c.ics", wantFields: []string{"source", "url"}},
		{name: "LongCategoryAndMapping", feed: hub.Feed{FeedURL: "https://example.org/c.ics", Source: "S", Categories: []string{strings.Repeat("c", hub.MaxTagBytes+1)},
			CatMap: map[string]string{"k": strings.Repeat("v", hub.MaxTagBytes+1)}}, wantURL: "https://example.org/c.ics", wantFields: []string{"catmap", "categories"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tt.feed
			f.Normalize()
			if f.FeedURL != tt.wantURL {
				t.Errorf("FeedURL = %q, want %q", f.FeedURL, tt.wantURL)
			}
			var got []string
			var ve *hub.ValidationError
			if err := f.Validate(); errors.As(err, &ve) {
				for k := range ve.Fields {
					got = append(got, k)
				}
			}
			if diff := cmp.Diff(tt.wantFields, got, cmpSorted); diff != "" {
				t.Errorf("Validate() fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFeedIDStableAndSafe(t *testing.T) {
	t.Parallel()
	a := hub.Feed{FeedURL: "webcal://example.org/c.ics?x='/#\\", Source: "S"}
	b := hub.Feed{FeedURL: "https://EXAMPLE.org/c.ics?x='/#\\", Source: "S"}
	a.Normalize()
	b.Normalize()
	if a.ID != b.ID {
		t.Errorf("FeedID differs for one feed typed two ways: %s vs %s", a.ID, b.ID)
	}
	if !hub.ValidFeedID(a.ID) {
		t.Errorf("FeedID = %q, not table-safe", a.ID)
	}
}

func TestFeedTagsNormalized(t *testing.T) {
	t.Parallel()
	f := hub.Feed{FeedURL: "https://e.org/c", Source: "S", Categories: []string{" Music", "music", "", "Jazz "},
		CatMap: map[string]string{" Konzert ": "Music", "x": " "}}
	f.Normalize()
	if diff := cmp.Diff([]string{"music", "jazz"}, f.Categories); diff != "" {
		t.Errorf("Categories (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"konzert": "music"}, f.CatMap); diff != "" {
		t.Errorf("CatMap (-want +got):\n%s", diff)
	}
}

func ExampleNormalizeFeedURL() {
	fmt.Println(hub.NormalizeFeedURL("webcal://Calendar.Example.org/events.ics"))
	// Output: https://calendar.example.org/events.ics
}

// TestFeedKinds checks what each feed kind needs: a mapping for csv and
// json, an adapter for script, and nothing of the sort for ics.
func TestFeedKinds(t *testing.T) {
	t.Parallel()
	csvMap := &feedkind.Mapping{Title: "Title", StartDate: "Date", Header: true}
	tests := []struct {
		name  string
		feed  hub.Feed
		field string // "" = valid
	}{
		{"ics by default", hub.Feed{}, ""},
		{"ics named", hub.Feed{Kind: " ICS "}, ""},
		{"unknown kind", hub.Feed{Kind: "xls"}, "kind"},
		{"csv with a mapping", hub.Feed{Kind: "csv", Mapping: csvMap}, ""},
		{"csv without a mapping", hub.Feed{Kind: "csv"}, "mapping"},
		{"json without a mapping", hub.Feed{Kind: "json"}, "mapping"},
		{"jsonld alone", hub.Feed{Kind: "jsonld"}, ""},
		{"rss alone", hub.Feed{Kind: "rss"}, ""},
		{"ics with a mapping", hub.Feed{Mapping: csvMap}, "mapping"},
		{"csv with a bad mapping", hub.Feed{Kind: "csv", Mapping: &feedkind.Mapping{Title: "Title"}}, "mapping"},
		{"script with an adapter", hub.Feed{Kind: "script", Adapter: "venue", Hosts: []string{"api.example.org"}}, ""},
		{"script without an adapter", hub.Feed{Kind: "script"}, "adapter"},
		{"script with a path as adapter", hub.Feed{Kind: "script", Adapter: "../secrets"}, "adapter"},
		{"adapter on an ics feed", hub.Feed{Adapter: "venue"}, "adapter"},
		{"hosts on a csv feed", hub.Feed{Kind: "csv", Mapping: csvMap, Hosts: []string{"a.example.org"}}, "hosts"},
		{"a URL as a host", hub.Feed{Kind: "script", Adapter: "venue", Hosts: []string{"https://a.example.org/"}}, "hosts"},
	}
	for _, tt := range tests {
		f := tt.feed
		f.FeedURL, f.Source = "https://example.org/events", "Example"
		f.Normalize()
		err := f.Validate()
		var ve *hub.ValidationError
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.field != "" && (!errors.As(err, &ve) || ve.Fields[tt.field] == ""):
			t.Errorf("%s: Validate() = %v, want an error on %s", tt.name, err, tt.field)
		}
	}
}

// TestFeedMappingMessage checks that a bad mapping's problems read as one
// line, each naming its field.
func TestFeedMappingMessage(t *testing.T) {
	t.Parallel()
	f := hub.Feed{FeedURL: "https://example.org/e.csv", Source: "Example", Kind: "csv", Mapping: &feedkind.Mapping{TZ: "Mars/Olympus"}}
	f.Normalize()
	var ve *hub.ValidationError
	if err := f.Validate(); !errors.As(err, &ve) {
		t.Fatalf("Validate() = %v", err)
	}
	msg := ve.Fields["mapping"]
	if strings.Contains(msg, "\n") || strings.Contains(msg, "feedkind:") || !strings.Contains(msg, "tz") || !strings.Contains(msg, "title") {
		t.Errorf("mapping message = %q, want one line naming tz and title", msg)
	}
}
